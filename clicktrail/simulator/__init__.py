"""The traffic simulator (`clicktrail simulate`); see docs/simulator.md."""
