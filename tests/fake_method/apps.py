from django.apps import AppConfig


class FakeMethodConfig(AppConfig):
    name = "tests.fake_method"
    label = "fake_method"
