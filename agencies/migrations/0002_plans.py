"""Plans are data: the code reads a plan's capabilities, never its name."""
from django.db import migrations

PLANS = [
    ("starter", "Starter", False),
    ("growth", "Growth", True),
    ("connect", "Connect", True),
]


def create_plans(apps, schema_editor):
    Plan = apps.get_model("agencies", "Plan")
    for code, name, allows in PLANS:
        Plan.objects.update_or_create(code=code, defaults={"name": name, "allows_required_two_factor": allows})


class Migration(migrations.Migration):
    dependencies = [("agencies", "0001_initial")]
    operations = [migrations.RunPython(create_plans, migrations.RunPython.noop)]
