"""The outbox for staff, read-only, in the Django admin (Admin › Accounts › Deliveries).

``manage.py outbox`` shows the same from a shell. Payloads (a text's code,
an email's body) are never shown; recipients are masked.
"""
from django.contrib import admin

from accounts.management.commands.outbox import masked
from accounts.models import Delivery


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "channel", "kind", "state", "attempts", "masked_to", "created_at", "next_attempt_at",
                    "last_error", "finished_at")
    list_filter = ("state", "channel")
    search_fields = ("kind", "last_error")
    ordering = ("-created_at",)
    fields = ("channel", "kind", "state", "attempts", "masked_to", "user", "created_at", "next_attempt_at",
              "deadline", "lease_until", "dispatched_at", "finished_at", "last_error", "last_error_detail",
              "reference")
    readonly_fields = fields

    @admin.display(description="to")
    def masked_to(self, delivery: Delivery) -> str:
        return masked(delivery.to)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
