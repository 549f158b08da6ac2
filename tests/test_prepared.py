"""ctm_auth.prepared: a queryset compiled once, bound anew per call, answers as the queryset would."""
from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import QuerySet
from django.db.models.functions import Length
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent, User
from ctm_auth import clock
from ctm_auth.prepared import prepared

pytestmark = pytest.mark.django_db


@prepared
def _events_since(user_id: int, since: datetime) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(target_user_id=user_id, created_at__gte=since).order_by("pk")


def _event(user: User, event_type: str, *, days_ago: int) -> AuditEvent:
    event = AuditEvent.objects.create(target_user=user, event_type=event_type)
    AuditEvent.objects.filter(pk=event.pk).update(created_at=clock.now() - timedelta(days=days_ago))
    return event


def test_each_call_binds_its_own_values_and_matches_the_querysets_answer(make_user):
    ada, bob = make_user("ada@example.test"), make_user("bob@example.test")
    old, new, bobs = _event(ada, "a.old", days_ago=10), _event(ada, "a.new", days_ago=1), _event(bob, "b", days_ago=1)
    week_ago = clock.now() - timedelta(days=7)

    for user, since, expected in ((ada, week_ago, [new]), (ada, week_ago - timedelta(days=7), [old, new]),
                                  (bob, week_ago, [bobs])):
        assert list(_events_since(user.pk, since)) == expected
        assert list(_events_since(user.pk, since)) == list(_events_since.build(user.pk, since))


def test_the_query_is_compiled_once_and_sends_one_statement_per_call(make_user):
    ada = make_user("ada@example.test")
    _event(ada, "a", days_ago=1)
    list(_events_since(ada.pk, clock.now() - timedelta(days=7)))
    compiled = _events_since._compiled[connection.alias]

    with CaptureQueriesContext(connection) as queries:
        assert len(list(_events_since(ada.pk, clock.now() - timedelta(days=2)))) == 1
    assert len(queries) == 1 and _events_since._compiled[connection.alias] is compiled


def test_a_parameter_the_query_does_not_use_is_refused():
    @prepared
    def ignores_its_user(user_id: int) -> QuerySet[AuditEvent]:
        return AuditEvent.objects.all()

    with pytest.raises(ImproperlyConfigured, match="every parameter must be used"):
        ignores_its_user(1)


@prepared
def _events_with_length(user_id: int) -> QuerySet[AuditEvent]:
    return (AuditEvent.objects.filter(target_user_id=user_id).annotate(type_length=Length("event_type"))
            .only("created_at", "event_type").order_by("pk"))


def test_rows_come_back_as_the_querysets_instances_with_annotations_and_deferred_fields(make_user):
    ada = make_user("ada@example.test")
    _event(ada, "signin.succeeded", days_ago=2)
    _event(ada, "mfa.totp.added", days_ago=1)

    prepared_rows, orm_rows = list(_events_with_length(ada.pk)), list(_events_with_length.build(ada.pk))
    assert [(e.pk, e.created_at, e.event_type, e.type_length) for e in prepared_rows] == \
        [(e.pk, e.created_at, e.event_type, e.type_length) for e in orm_rows]
    first = prepared_rows[0]
    # A time zone-aware datetime on SQLite too (the backend's converter ran), and the other fields deferred.
    assert first.created_at.tzinfo is not None and first.type_length == len("signin.succeeded")
    assert first.get_deferred_fields() == orm_rows[0].get_deferred_fields() and "data" in first.get_deferred_fields()
    assert first._state.adding is False and first._state.db == connection.alias


def test_a_query_of_two_models_is_refused():
    @prepared
    def with_its_user(user_id: int) -> QuerySet[AuditEvent]:
        return AuditEvent.objects.filter(target_user_id=user_id).select_related("target_user")

    with pytest.raises(ImproperlyConfigured, match="one model"):
        with_its_user(1)
