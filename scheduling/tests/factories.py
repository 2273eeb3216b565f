import datetime as dt

import factory
from django.utils import timezone

from kumon.tests.factories import ContactFactory, UnitFactory  # noqa: F401  (re-exported for tests)
from scheduling.models import Appointment, Closure, OpeningHours, Reminder, SlotHold


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    unit = factory.SubFactory(UnitFactory)
    start = factory.LazyFunction(
        lambda: (timezone.now() + dt.timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    )
    end = factory.LazyAttribute(lambda o: o.start + dt.timedelta(hours=1))
    phone = "+5511987654321"
    parent_name = "Ana"
    child_name = "Pedro"
    child_age = 7
    subject = "Matemática"


class OpeningHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpeningHours

    unit = factory.SubFactory(UnitFactory)
    weekday = 0
    start = dt.time(14, 0)
    end = dt.time(18, 0)


class ClosureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Closure

    unit = factory.SubFactory(UnitFactory)
    start_date = dt.date(2026, 12, 1)
    end_date = dt.date(2026, 12, 1)
    reason = "Férias"


class SlotHoldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SlotHold

    unit = factory.SubFactory(UnitFactory)
    start = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=2))
    end = factory.LazyAttribute(lambda o: o.start + dt.timedelta(hours=1))
    holder = "conversation:1"
    expires_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(minutes=10))


class ReminderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reminder

    appointment = factory.SubFactory(AppointmentFactory)
    kind = "24h"
    due_at = factory.LazyAttribute(lambda o: o.appointment.start - dt.timedelta(hours=24))


def weekly_hours(
    unit, periods=((dt.time(9, 0), dt.time(12, 0)), (dt.time(14, 0), dt.time(18, 0))), weekdays=range(0, 5)
):
    """Opening hours Monday–Friday (default 9–12 and 14–18: a lunch break)."""
    for weekday in weekdays:
        for p_from, p_until in periods:
            OpeningHours.objects.create(unit=unit, weekday=weekday, start=p_from, end=p_until)
