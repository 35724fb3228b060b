"""The agent inbox: server-rendered pages (Django templates + htmx) over the same
services and selectors as the API. Views are split by concern; `context`
resolves the signed-in agent's current workspace for every page.
"""
