"""The website chat widget's channel: no outside provider, the widget is the client."""
