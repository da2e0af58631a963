"""API tokens: who may manage campaigns, ask for trusted decisions, read reports."""
