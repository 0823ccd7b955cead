"""Gates every schema change passes before it merges (`make migration-check`, `-lint`, `-sql`,
`-test` and `make ci`).

None of them touches the developer's own database: whatever needs a database gets a
throwaway one (throwaway.py) and drops it afterwards.
"""
