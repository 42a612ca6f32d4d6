"""Mouachir ETL: commune systems (SQL databases, Excel workbooks, CSV exports) into DuckDB."""
