"""The API conventions every resource shares: auth, envelope, errors, paging, limits.

Resource views live with their domain (`messaging/api/`); they subclass
`inbox.api.views.ApiView` and get all of this for free.
"""
