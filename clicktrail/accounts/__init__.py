"""Dashboard accounts: a username, a hashed password, a role and the sites it may see."""
