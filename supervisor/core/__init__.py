"""The pure session core. Nothing in this package performs I/O; tests/core/test_purity.py checks."""

from .chart import Chart, Row, load_chart, parse_chart
from .session import Session
from .settings import SessionSettings

__all__ = ["Chart", "Row", "Session", "SessionSettings", "load_chart", "parse_chart"]
