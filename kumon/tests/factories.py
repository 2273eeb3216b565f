import factory
from django.contrib.auth import get_user_model

from kumon.models import Contact, Membership, Unit


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    slug = factory.Sequence(lambda n: f"unit-{n}")
    name = factory.Sequence(lambda n: f"Kumon Unidade {n}")
    address = "Rua Exemplo, 100 – São Paulo – SP"
    evolution_instance = factory.Sequence(lambda n: f"kumon-unit-{n}")
    webhook_secret = factory.Sequence(lambda n: f"secret-{n}")
    whatsapp_gateway = Unit.Gateway.CONSOLE


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    is_staff = True
    password = factory.django.Password("pw")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    unit = factory.SubFactory(UnitFactory)
    role = Membership.Role.STAFF


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    unit = factory.SubFactory(UnitFactory)
    phone = factory.Sequence(lambda n: f"+55119{n:08d}")
    name = "Ana"
