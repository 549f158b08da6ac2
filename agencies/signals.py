"""Drop cached policy answers when what they were computed from changes.

The cached rule is the agencies' (agencies.policy): a device's change needs
no forget, since whether the user complies is read with the user on every
request. forget_user never raises for an unreachable cache, so a membership
saved while Redis is down is saved, not answered with a 500.
"""
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from agencies import memberships, navigation, preferences
from agencies.models import Agency, Membership
from agencies.policy import forget_user


def _forget_after_commit(user_id: int | None) -> None:
    if user_id is not None:
        forget_user(user_id)
        # A concurrent request may have re-cached the old answer before the
        # commit; forget again once the change is visible to everybody.
        # Robust: the change is committed by then, so nothing here may fail it.
        transaction.on_commit(lambda: forget_user(user_id), robust=True)


@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
def membership_changed(sender, instance: Membership, **kwargs) -> None:
    _forget_after_commit(instance.user_id)
    memberships.memberships_changed()
    for forget in (preferences.forget_users, navigation.forget_menus):
        forget([instance.user_id])
        transaction.on_commit(lambda forget=forget: forget([instance.user_id]), robust=True)


@receiver(post_save, sender=Agency)
def agency_changed(sender, instance: Agency, update_fields=None, created=False, **kwargs) -> None:
    """Members who follow the agency's time zone see a new one, and its new name in the menu, at their next page."""
    memberships.memberships_changed()
    if created:
        return
    if update_fields is None or "name" in update_fields:
        navigation.forget_agency_menus(instance)
        transaction.on_commit(lambda: navigation.forget_agency_menus(instance), robust=True)
    if update_fields is not None and "time_zone" not in update_fields:
        return
    preferences.forget_agency(instance)
    transaction.on_commit(lambda: preferences.forget_agency(instance), robust=True)
