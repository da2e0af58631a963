"""The reports service's blueprints: the reports API, health, the OpenAPI description."""
