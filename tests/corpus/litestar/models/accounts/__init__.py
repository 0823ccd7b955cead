"""Accounts: a subpackage of the models."""
