"""surgad: an SMS complaint line on gammu-smsd that routes, forwards and escalates."""

__version__ = "0.1.0"
