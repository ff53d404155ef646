"""A standard's certificate may name the standard of another organization (on another node)
that calibrated it: its code, asset id and certificate, as the registry's link fact does."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("standards", "0003_links_from_traceability"),
    ]

    operations = [
        migrations.AddField(
            model_name="standardcertificate",
            name="calibrated_with_owner",
            field=models.CharField(
                blank=True, help_text="The upstream standard's organization code", max_length=64
            ),
        ),
        migrations.AddField(
            model_name="standardcertificate",
            name="calibrated_with_standard",
            field=models.CharField(
                blank=True,
                help_text="The upstream standard's asset id (register number)",
                max_length=64,
            ),
        ),
        migrations.AddField(
            model_name="standardcertificate",
            name="calibrated_with_certificate",
            field=models.CharField(
                blank=True,
                help_text="The upstream standard's calibration certificate",
                max_length=64,
            ),
        ),
    ]
