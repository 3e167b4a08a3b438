"""The coordinators' commands are driven over the webhook, with the routes' fakes and app."""

from tests.routes.conftest import fake_telegram

__all__ = ["fake_telegram"]
