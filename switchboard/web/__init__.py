"""The web console: one FastAPI app (`switchboard serve`), server-rendered pages over a REST API.

app.py builds it; auth.py signs people in and checks roles; routes/ holds one module per kind of user.
"""
