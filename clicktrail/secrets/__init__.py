"""Secrets: rotatable signing keys and the cookieless daily salt (docs/secrets.md)."""
