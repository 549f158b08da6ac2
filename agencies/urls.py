"""Settings pages of an agency (filled in by the agency administration issue)."""
app_name = "agencies"
urlpatterns: list = []
