"""Service functions: keyword-only, session first; the routers stay thin."""
