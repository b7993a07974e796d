"""Role and settings changes into the audit trail, whoever makes them and however.

Roles are the auth tables (a user's groups, permissions and superuser, staff and active
flags; a group's permissions), changed by the admin, a command or code: model signals are the
one place all of those pass. Settings are what administrators change in the admin; Django's
admin logs each change (LogEntry), and each logged change is copied here, where it cannot be
altered. Field names are recorded, never values.
"""

import json

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_save, pre_save
from django.dispatch import receiver

from chatbot.audit import actions
from chatbot.audit.acting_request import current

User = get_user_model()
ROLE_FLAGS = ("is_superuser", "is_staff", "is_active")
ADMIN_CHANGES = {ADDITION: "added", CHANGE: "changed", DELETION: "deleted"}


def _record_role_change(target_type: str, target_id, details: dict) -> None:
    actions.record(
        actions.ROLE_CHANGED,
        request=current.get(),
        target_type=target_type,
        target_id=target_id,
        details=details,
    )


@receiver(pre_save, sender=User)
def remember_role_flags(sender, instance, update_fields=None, **kwargs) -> None:
    """Keep the flags as stored, to compare after the save (not for saves that skip them)."""
    instance._audit_stored_flags = None
    if instance.pk and (update_fields is None or set(ROLE_FLAGS) & set(update_fields)):
        instance._audit_stored_flags = (
            sender.objects.filter(pk=instance.pk).values(*ROLE_FLAGS).first()
        )


@receiver(post_save, sender=User)
def record_role_flags(sender, instance, created, **kwargs) -> None:
    if created:
        changed = {flag: True for flag in ("is_superuser", "is_staff") if getattr(instance, flag)}
        if changed:
            _record_role_change("user", instance.pk, {"flags": changed, "created": True})
        return
    stored = getattr(instance, "_audit_stored_flags", None)
    if stored is None:
        return
    changed = {
        flag: getattr(instance, flag)
        for flag in ROLE_FLAGS
        if stored[flag] != getattr(instance, flag)
    }
    if changed:
        _record_role_change("user", instance.pk, {"flags": changed})


def _names(model, pk_set) -> list[str]:
    if model is Group:
        return sorted(Group.objects.filter(pk__in=pk_set).values_list("name", flat=True))
    rows = model.objects.filter(pk__in=pk_set).select_related("content_type")
    return sorted(f"{row.content_type.app_label}.{row.codename}" for row in rows)


def _membership_changed(target_type: str, what: str):
    """Return a receiver recording additions to and removals from one m2m of users or groups."""

    def record_change(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
        if action == "pre_clear":
            # The rows are gone by post_clear; remember them now.
            instance._audit_cleared = list(getattr(instance, what).values_list("pk", flat=True))
            return
        if action not in ("post_add", "post_remove", "post_clear"):
            return
        if reverse:
            # Changed from the other side (a group's users, say): one entry per user or group.
            for pk in pk_set or ():
                names = _names(type(instance), {instance.pk})
                key = "added" if action == "post_add" else "removed"
                _record_role_change(target_type, pk, {f"{what}_{key}": names})
            return
        if action == "post_clear":
            pk_set, key = set(getattr(instance, "_audit_cleared", [])), "removed"
        else:
            key = "added" if action == "post_add" else "removed"
        if pk_set:
            _record_role_change(target_type, instance.pk, {f"{what}_{key}": _names(model, pk_set)})

    return record_change


_user_groups = _membership_changed("user", "groups")
_user_permissions = _membership_changed("user", "user_permissions")
_group_permissions = _membership_changed("group", "permissions")
m2m_changed.connect(_user_groups, sender=User.groups.through, weak=False)
m2m_changed.connect(_user_permissions, sender=User.user_permissions.through, weak=False)
m2m_changed.connect(_group_permissions, sender=Group.permissions.through, weak=False)


@receiver(post_save, sender=LogEntry)
def record_admin_change(sender, instance: LogEntry, created: bool, **kwargs) -> None:
    """Copy an administrator's change in the admin: what was changed, and which fields."""
    if not created:
        return
    content_type = instance.content_type
    actions.record(
        actions.SETTING_CHANGED,
        user=instance.user,
        request=current.get(),
        target_type=f"{content_type.app_label}.{content_type.model}" if content_type else "",
        target_id=instance.object_id or "",
        details={
            "change": ADMIN_CHANGES.get(instance.action_flag, str(instance.action_flag)),
            "fields": changed_fields(instance.change_message),
        },
    )


def changed_fields(change_message: str) -> list[str]:
    """Return the field names a LogEntry's change message lists (the admin's JSON form)."""
    try:
        parts = json.loads(change_message or "[]")
    except ValueError:
        return []
    fields = []
    for part in parts if isinstance(parts, list) else []:
        changed = part.get("changed", {}) if isinstance(part, dict) else {}
        fields.extend(str(name) for name in changed.get("fields", []))
    return fields
