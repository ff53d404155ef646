from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("measurements", "0002_evidence_append_only"),
    ]

    operations = [
        # Readings stored before this field existed were all samples of their point's
        # readings_quantity; the empty default says so (readings are never updated).
        migrations.AddField(
            model_name="reading",
            name="quantity",
            field=models.CharField(
                default="",
                help_text="The model quantity whose samples this reading is",
                max_length=100,
            ),
            preserve_default=False,
        ),
    ]
