"""The hands: typed tool functions grouped by duty.

Importing the package registers every duty's tools (see :func:`tools.base.registry`).
"""

from tools import calendar, contacts, mail  # noqa: F401
