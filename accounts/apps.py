from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        self._connect_session_receivers()

    @staticmethod
    def _connect_session_receivers() -> None:
        """Keep the Profile's Active sessions in step with sign-in, sign-out and ended sessions."""
        from django.contrib.auth.signals import user_logged_in, user_logged_out
        from django.db.models.signals import post_save

        from accounts import sessions
        from accounts.models import User

        user_logged_in.connect(sessions.on_user_logged_in, dispatch_uid="accounts.sessions.logged_in")
        user_logged_out.connect(sessions.on_user_logged_out, dispatch_uid="accounts.sessions.logged_out")
        post_save.connect(sessions.on_user_saved, sender=User, dispatch_uid="accounts.sessions.user_saved")
