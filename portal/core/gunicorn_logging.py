"""gunicorn's access log without the secret of a token link (gunicorn.conf.py `logger_class`)."""

from gunicorn.glogging import Logger

from portal.core.token_links import redact_token_links


class RedactingLogger(Logger):
    """Every atom of the access log line (request line, path, referrer, headers, environ) with
    `/kyc/i/<token>` and invitation paths redacted: the raw path of those routes never reaches the log."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact_token_links(value) if isinstance(value, str) else value for key, value in atoms.items()}
