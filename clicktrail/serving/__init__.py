"""What every HTTP service of Clicktrail shares: Prometheus exposition summed over gunicorn
workers, gunicorn's metrics hooks, JSON error answers."""
