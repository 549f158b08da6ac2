"""ctm_auth.prepared: a queryset compiled once, bound anew per call, answers as the queryset would."""
from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import QuerySet
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
