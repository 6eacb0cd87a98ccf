"""The portal: the manual's screens served over HTTP (Starlette, Jinja2, plain forms).

    from portal.app import create_app
    app = create_app(station, PortalConfig(secret=...))   # an ASGI app for uvicorn
"""
