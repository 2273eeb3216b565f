import factory

from knowledge.models import Phrasing, Source
from kumon.tests.factories import UnitFactory


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    unit = factory.SubFactory(UnitFactory)
    kind = Source.Kind.FAQ
    external_id = factory.Sequence(lambda n: f"faq-{n}")
    question = "Quanto custa a mensalidade?"
    answer = "A mensalidade é de R$ 390,00 por disciplina."


class SharedSourceFactory(SourceFactory):
    unit = None


class PhrasingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Phrasing

    source = factory.SubFactory(SourceFactory)
    text = factory.Sequence(lambda n: f"outra forma de perguntar {n}")
