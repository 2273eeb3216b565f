import datetime as dt

import factory
from django.utils import timezone

from kumon.tests.factories import UnitFactory
from scheduling.models import Appointment


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    unit = factory.SubFactory(UnitFactory)
    start = factory.LazyFunction(lambda: (timezone.now() + dt.timedelta(days=2)).replace(minute=0, second=0, microsecond=0))
    end = factory.LazyAttribute(lambda o: o.start + dt.timedelta(hours=1))
    phone = "+5511987654321"
    parent_name = "Ana"
    child_name = "Pedro"
    child_age = 7
    subject = "Matemática"
