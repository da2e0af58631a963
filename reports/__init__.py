"""The reports service: marketer reports over the warehouse's exact rollups, as a JSON API
(``/v1/reports/<name>``, ``?format=csv``) and as ``clicktrail report`` (docs/reports.md).

A report is a function of a ``ReportQuery`` (site, period in the site's time zone, filters)
over a ``RollupSource`` (the read layer that knows rollups versus raw open days); its figures
are computed by plain functions apart from I/O.
"""
