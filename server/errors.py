"""Named HTTP error helpers so every refusal is a readable plain-text message, never a trace."""

from __future__ import annotations

import logging

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

log = logging.getLogger("cytokg.server")


class ProtocolError(Exception):
    """A client-visible error carrying its HTTP status and a human-readable message."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        """Keep status, message and extra headers (e.g. Allow, Retry-After)."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def bad_request(msg: str) -> ProtocolError:
    """400: the request or query is malformed (SPARQL 1.1 Protocol 2.1.4)."""
    return ProtocolError(400, msg)


def forbidden(msg: str) -> ProtocolError:
    """403: the operation is understood but refused (updates on a read-only endpoint)."""
    return ProtocolError(403, msg)


def not_acceptable(msg: str) -> ProtocolError:
    """406: no result format satisfies the Accept header or format parameter."""
    return ProtocolError(406, msg)


def payload_too_large(msg: str) -> ProtocolError:
    """413: the request body is over the configured body limit."""
    return ProtocolError(413, msg)


def uri_too_long(msg: str) -> ProtocolError:
    """414: the GET query string is over the configured body limit."""
    return ProtocolError(414, msg)


def unsupported_media_type(msg: str) -> ProtocolError:
    """415: a POST whose Content-Type is missing or not one the Protocol defines."""
    return ProtocolError(415, msg)


def service_unavailable(msg: str, retry_after: int = 1) -> ProtocolError:
    """503: the query hit the time limit or no executor was free; retrying later may work."""
    return ProtocolError(503, msg, {"Retry-After": str(retry_after)})


def server_error(msg: str = "Internal server error; the fault has been logged.") -> ProtocolError:
    """500: a genuine server fault, reported generically (details go to the log only)."""
    return ProtocolError(500, msg)


def text_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """Render an error as text/plain so humans and scripts can read it."""
    resp = Response(message.rstrip("\n") + "\n", status=status, mimetype="text/plain")
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def register(app: Flask) -> None:
    """Install handlers turning protocol errors, HTTP errors and faults into text responses."""

    @app.errorhandler(ProtocolError)
    def _protocol(exc: ProtocolError) -> Response:
        return text_response(exc.status, exc.message, exc.headers)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
        status = exc.code or 500
        msg = f"{status} {exc.name}: {exc.description}"
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            msg = f"413 Payload Too Large: the request body is over the limit of {limit} bytes."
        return text_response(status, msg, headers)

    @app.errorhandler(Exception)
    def _fault(exc: Exception) -> Response:
        log.exception("unhandled server fault")
        err = server_error()
        return text_response(err.status, err.message)
