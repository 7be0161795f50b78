from django.apps import apps
from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from simple_history.models import HistoricalChanges

from core import registry


def _points_to_contact(model) -> bool:
    contact = apps.get_model("contacts", "Contact")
    if model is contact:
        return True
    # Many-to-many links count too (their through table holds who belongs to what), and so does a
    # link to a proxy of Contact: it is the same table.
    return any(
        field.is_relation
        and (field.many_to_one or field.one_to_one or field.many_to_many)
        and isinstance(field.related_model, type)
        and field.related_model._meta.concrete_model is contact
        for field in model._meta.get_fields()
        if field.concrete
    )


@checks.register()
def check_personal_data_registered(app_configs=None, models=None, **kwargs):
    """dsr.E001: a model that reaches Contact and is not in the registry would escape DSR erasure.

    Checks every installed model, or the given `models`.
    """
    errors = []
    for model in models if models is not None else apps.get_models():
        # History tables are reached through the model they record; erasure purges them with it.
        # A proxy shares its concrete model's table, so that model's registration covers it.
        if issubclass(model, HistoricalChanges) or model._meta.proxy or not _points_to_contact(model):
            continue
        entry = registry.entry_for(model)
        if entry is None:
            errors.append(
                checks.Error(
                    f"{model._meta.label} points to Contact but is not in the personal-data registry.",
                    hint="Register it in its app's privacy.py with core.registry.register(...).",
                    obj=model,
                    id="dsr.E001",
                )
            )
            continue
        for name in entry.fields:
            try:
                model._meta.get_field(name)
            except FieldDoesNotExist:
                errors.append(
                    checks.Error(
                        f"{model._meta.label} registers personal field “{name}”, which does not exist.",
                        obj=model,
                        id="dsr.E002",
                    )
                )
    return errors
