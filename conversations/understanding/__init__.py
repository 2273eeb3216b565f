"""What a parent's turn says, without a language model: one typed `Understood`.

Three layers, each for what it does best:
- rules for what is exact: opt-out words, explicit requests for a person, complaints, prompt
  injection, yes/no at the start of a short answer, offered-option numbers, dates and times
  (`dates.py`), names, ages, school years and subjects (`facts.py`);
- the intent model (`intents.py`): the message placed among labelled examples, for what rules
  cannot list ("surgiu uma reunião no horário", "tô pensando ainda");
- the question just asked (`step`): a bare "6" at "Quantos anos?" is an age, "pode" at an offer
  is a yes, "o segundo" is an option.
The LLM path (conversations/llm.py) proposes the same `Understood` and the engine validates it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from conversations.state import Intent, Step
from conversations.understanding import facts as facts_module
from conversations.understanding.dates import When, parse_when
from conversations.understanding.facts import Facts
from conversations.understanding.intents import Prediction, model
from conversations.understanding.text import fold, prepare, spelt_as

__all__ = ["Understood", "understand", "detect_language", "clauses", "When", "Facts"]

_OPT_OUT = re.compile(
    r"^\W*(pare|parar|para|sair|stop|unsubscribe|descadastrar|cancelar inscricao|chega|remover|baja)\W*$"
    r"|nao (quero|desejo) (mais )?(receber )?(mensage|msg|contato|nada|ser contatad)"
    r"|(pare|para|parem|parar) de (me )?(mandar|enviar|mand|escrever|ligar|chamar)"
    r"|nao me (mande|mandem|manda|mandar|envie|enviem|envia|enviar|chame|chamem|procure|procurem|ligue|liguem|liga) (mais|nada)"
    r"|(remov|tir|exclu|apag)\w* (o )?meu (numero|contato|telefone|cadastro)|me (tira|tirem|remove|removam|exclui) (da|dessa|desta|de sua|de) (sua )?(lista|base)"
    r"|nao autorizei (ninguem )?(a )?(passar|dar|usar|compartilhar) (o )?meu (numero|contato|telefone)"
    r"|nao tenho (mais )?interesse.*(mensage|contato|numero)|(mensage|contato|numero).*nao tenho (mais )?interesse"
    r"|\bme descadastr|\bdescadastr\w* (meu|o meu|esse|este)|chega de (mensage|msg|me mandar)|(me )?tir\w* da (lista|base)|sai(r)? da lista"
    r"|remove (my|this) (number|contact)|take (me|my number) off|(don'?t|do not) want (any )?more messages|no more messages"
    r"|stop (sending|messaging|texting)|don'?t (message|text|contact) me|(quiten|borren|saquen) mi (numero|contacto)|dejen de (enviar|escribir|mandar)|no (me )?(manden|envien|escriban) mas|no quiero (mas|recibir)"
)
_HUMAN = re.compile(
    r"\batendente\b|\bhumano\b|ser humano|pessoa de verdade|pessoa real|nao (quero|gosto de) (falar com )?(robo|bot|maquina)"
    r"|falar com (uma |um |a |o |alguem|algu|gente|pessoa|atendente|orientadora|coordenadora|coordenacao|responsavel"
    r"|dona|dono|diretora|gerente|secretaria|professora|recepcao|equipe|voces por telefone|a unidade)"
    r"|fal(ar|o) com (voces|vcs) por telefone|me (liga|ligue|ligar|liguem)\b|pode(m)? me ligar|quero atendimento (humano|pessoal)"
    r"|(passa|passar|passe|transfere|transferir|transfira|encaminha|encaminhar|encaminhe)\w* (a conversa |o atendimento |isso )?"
    r"(pra|para|pro|a|ao) (alguem|uma pessoa|um atendente|atendente|equipe|a equipe|secretaria|a secretaria|coordenacao"
    r"|a coordenacao|recepcao|a recepcao|orientadora|a orientadora|responsavel|o responsavel)"
    r"|alguem da (equipe|unidade|secretaria|recepcao|coordenacao) (me )?(atender|responder|falar|ligar|chamar)"
    r"|(talk|speak) (to|with) (a |an |the )?(human|person|someone|agent|staff|manager|real)|real person"
    r"|hablar con (una persona|alguien|un humano|un agente|la directora)"
)
HUMAN_REQUEST = _HUMAN
_COMPLAINT = re.compile(
    r"\breclama|absurdo|pessim|insatisfeit|descaso|cobrad[oa]s? (errad|indevid|a mais|duas vezes|2 vezes)|cobraram (errado|duas|2|a mais)"
    r"|cobranca indevid|duas vezes no|procon|processar|advogad|nao gostei|horrivel|decepcionad|falta de respeito"
    r"|ninguem (me )?respond|mal atendid|vergonha|ridiculo|inadmissivel|palhacada|desrespeito|quero (meu )?(dinheiro|reembolso|estorno)"
    r"|chatead[oa]|revoltad[oa]|indignad[oa]|constrangid|humilhad|quero (uma )?explica|brigou com|gritou com|maltrat"
    r"|quero (isso |isto |o problema )?(resolvid|solucionad)|(quero|exijo|preciso de) uma solucao|resolvam (isso|logo|o problema)"
    r"|cobra(ram|ndo|r)\b.{0,60}\bmesmo assim|me (disseram|falaram|garantiram) que .{0,60}\bnao (pagava|pagaria|cobrava|cobraria|precisava pagar)"
    r"|valor errad|veio errad|vem errad|cobran\w* errad|debitaram\b.{0,40}\b(duas|2) vezes|\bestorno\b|cansad[oa] (disso|dessa|desse|de)\b"
    r"|(terceira|quarta|segunda) vez (que|q)\b.{0,40}\b(erro|errad|cobr|vem|veio|mando|ligo|peco)"
    r"|complain|terrible|awful|unacceptable|charged twice|refund|queja|reclamo|inaceptable"
)
# "a professora (da escola) reclamou da letra dele": a complaint about the child, not about us.
_THIRD_PARTY_COMPLAINT = re.compile(
    r"\b(?:a |o )?(?:professora|professor|prof|escola|coordenadora|coordenador|diretora|tia|pediatra|psicologa|fono)"
    r"(?: d[aeo] escola| dele| dela| da escola dele| da escola dela)? (?:reclamou|reclama|reclamando|vive reclamando|ja reclamou)\b"
)
_INJECTION = re.compile(
    r"ignor\w* (as |todas |all |previous |suas |the |tudo |o que |your |tus |las )|instruc\w* (anterior|do sistema|iniciais|previas)"
    r"|system prompt|prompt do sistema|seu prompt|your prompt|tu prompt|voce agora e|you are now|act as|aja como|finj[ae]|pretend"
    r"|revel\w* (o|a|seu|suas|as|tus)|jailbreak|developer mode|modo desenvolvedor|esqueca (tudo|suas|as regras)"
    r"|dados d\w* outr|lista d\w* (alunos|clientes|contatos|pais|agendamentos)|telefone d\w* outr|outros pais|other parents"
    r"|^\W*system\s*:|chatgpt sem filtro|sem filtros?|do anything now|modelo de ia|qual (modelo|ia) (voce|vc) (usa|e)"
)
_RESCHEDULE = re.compile(
    r"remarc|reagend|mudar (o |a )?(horario|dia|data|visita|agendamento)|trocar (o |a )?(horario|dia|data|visita)"
    r"|passar (a visita |o horario |para |pra )(?:a |o |mesma |mesmo |proxima |proximo )?(outro|outra|pra|para|semana|amanha|segunda|terca|quarta|quinta|sexta|sabado)"
    r"|(outro|outra) (horario|dia|data)|nao vou (poder|conseguir) (ir|comparecer|levar)|adiar|reschedul|change the (time|date|day)"
    r"|move (it|the visit)|cambiar (la|el) (hora|cita|dia|horario)|surgiu um (imprevisto|compromisso)"
)
CONFLICT = re.compile(
    r"\b(nao vou (poder|conseguir)|nao vai dar|nao consigo (ir|levar)|nao poderei|reuniao|compromisso|imprevisto|viagem|viajar|surgiu)\b"
)
# The parent will decide later, or with someone else at home: nothing to ask now, no one to call.
DEFERS = re.compile(
    r"\b(?:vou|vamos|preciso|tenho que|deixa eu|vou ter que) (?:ver|pensar|conversar|falar|decidir|olhar|combinar|checar|consultar)"
    r"(?: (?:com|a|o|minha|meu|melhor)\b.{0,30})?"
    r"|\bdepois (?:eu |a gente )?(?:vejo|volto|falo|te falo|retorno|marco|remarco|agendo|decido|confirmo|te chamo|chamo|aviso|te aviso)\b"
    r"|\bmais (?:tarde|pra frente|para frente) (?:eu )?(?:vejo|volto|falo|te falo|remarco|marco|agendo|chamo|aviso)\b"
    r"|\bte (?:aviso|falo|retorno|chamo|confirmo) (?:depois|mais tarde|amanha|outro dia)\b|\bqualquer coisa (?:eu )?(?:volto|chamo|te chamo|aviso)\b"
    r"|\bagora nao\b|\bvou ver (?:minha|a|na) agenda\b|\bela te chama\b|\bele te chama\b"
    r"|\b(?:i'?ll|we'?ll|let me) (?:think|check|talk|get back)\b|\b(?:lo voy a pensar|te aviso despues|despues te (?:escribo|aviso))\b"
)
# "vou falar com a mãe dele", "vou conversar com meu marido": someone at home, not the unit's staff.
_TALK_AT_HOME = re.compile(
    r"\b(?:vou|vamos|preciso|tenho que|deixa eu|vou ter que) (?:falar|conversar|ver|combinar) com (?:a |o )?"
    r"(?:mae|pai|marido|esposa|esposo|mulher|ele|ela|meu \w+|minha \w+|familia|avo|sogra|pais|namorad\w*)\b"
)
_CANCEL = re.compile(r"\b(?:cancel\w*|desmarc\w*|cancell?\w*)\b")
_CANCEL_OTHER = re.compile(
    r"\b(?:matricula|inscricao|curso|mensalidade|plano|contrato|aulas|kumon|assinatura|cartao|boleto)\b"
)
# "ah vc não escuta áudio?": a question about the receptionist's ears, not the unit's knowledge.
_ABOUT_AUDIO = re.compile(
    r"\b(?:escuta|escutar|escutam|ouve|ouvir|ouvem|consegue ouvir|consegue escutar)\b.{0,12}\b(?:audio|audios|mensagem de voz)\b"
)
# "dá pra ela repor outro dia?", "trocar o dia da aula": a student's lessons move, not a first visit.
_LESSON_MOVE = re.compile(
    r"\b(?:aula|aulas|repor|reposicao|repoe|reponho|falta|faltas|faltar|faltou|licao|licoes|classe|clase|class)\b"
)
_PAYING = re.compile(
    r"\b(?:pagar|pago|paguei|pagamento|boleto|juros|multa|pix|cartao|mensalidade|vencimento|vence)\b"
)
_VISIT_WORD = re.compile(r"\b(?:visita|agend\w*|avaliacao|teste|diagnostico|conhecer)\b")
_MY_VISIT = re.compile(
    r"esqueci (o |a |que )?(horario|dia|data|hora)|(que|qual) (horas?|dia|horario|data) (e|eh|ficou|sera|era) (a |o )?(minha |nossa )?(visita|agendamento)"
    r"|quando (e|eh|sera|ficou) (a |o )?(minha |nossa )?(visita|agendamento)|(ja |to )?marquei.*(esqueci|nao lembro)|nao lembro (o |a |do |da )?(horario|dia|data)"
    r"|(minha|nossa) visita (esta|ta) (confirmada|marcada)|what time is (our|my|the) (visit|appointment)|when is (our|my) (visit|appointment)"
    # "a visita do Antônio é amanhã ou quinta?", "a visita ta confirmada?", "ainda ta de pe a visita?"
    r"|\bvisita (?:d[oa]s? \w+ )?(?:e|eh|sera|ficou|era|esta marcada|ta marcada|foi marcada) (?:pra |para |na |no )?"
    r"(?:amanha|hoje|quando|que dia|qual dia|segunda|terca|quarta|quinta|sexta|sabado|dia \d)"
    r"|\bvisita (?:d[oa]s? \w+ )?(?:esta|ta|continua|segue) (?:confirmada|de pe|mantida)|\b(?:ainda )?(?:ta|esta) de pe a visita"
)
_BOOK = re.compile(
    r"\bagend|\bmarca(r|mos)?\b|\bvisita|conhecer (a |o )?(unidade|kumon|escola|espaco|metodo)|\bconhecer\b|teste diagnostico|teste de nivel"
    r"|fazer (o |um )?(teste|avaliacao)|\bavaliacao\b|\bmatricul|quero comecar|\binscrev|\bvaga\b|\bleva\w* (ele|ela|meu|minha|os|as|o |a )"
    r"|\bschedul|\bbook\b|appointment|\bvisit\b|\bcome (in|by|for)\b|\bcita\b|\bvisitar\b|conocer|\breservar\b|\binscribir"
)
# "quanto é a matrícula?" asks for the fee, not to enrol.
_FEE_OF_ENROLMENT = re.compile(
    r"\b(quanto|qto|qnto|valor|preco|taxa|custa|cobra\w*|paga\w*)\b[^.?!]{0,30}\bmatricula\b"
    r"|\bmatricula\b[^.?!]{0,20}\b(custa|quanto|qto|valor|preco|taxa|sai)\b"
)
_AFFIRM = re.compile(
    r"^\W*(sim|isso|isso mesmo|confere|correto|certo|ta certo|esta certo|pode ser|pode|pode sim|ok|okay|okey|beleza|perfeito"
    r"|confirmo|confirmado|confirma|claro|com certeza|yes|yep|yeah|si|exato|fechado|bora|vamos|quero|quero sim|otimo|show|top"
    r"|tudo certo|combinado|sure|of course|correct|right|vale|dale|ta bom|esta bom|ta otimo|esta otimo|fechou|demorou|massa|blz"
    r"|por mim (tudo bem|pode ser|ok)|esse mesmo|essa mesmo|serve|sounds good|great|perfect|that works|perfecto|de acuerdo|me sirve)\b"
)
_DENY = re.compile(
    r"^\W*(nao|no|nope|negativo|errado|esta errado|ta errado|nao e isso|incorrect|wrong|agora nao|ainda nao|melhor nao"
    r"|nao precisa|deixa pra depois|por enquanto nao|not now|no thanks|todavia no)\b"
)
# Nothing to answer: thanks, "ok", "vou aguardar" (read on `prepare`d text).
ACKNOWLEDGEMENT_ONLY = re.compile(
    r"^\W*(?:(?:ok|okay|ta|ta bom|esta bom|beleza|certo|entendi|entendido|combinado|tudo bem|sim|show|perfeito|otimo|ah|ata"
    r"|obrigad[oa]s?|muito obrigad[oa]|brigad[oa]|valeu|agradeco|thanks|thank you|gracias|aguardo|no aguardo|fico no aguardo"
    r"|fico aguardando|aguardando|vou aguardar|vou esperar|espero|esperando|then|i'?ll wait|espero entonces|de nada)\W*)+$"
)
_THANKS = re.compile(r"\b(obrigad|brigad|valeu|agradec|thanks|thank you|thx|gracias)")
_GREETING = re.compile(
    r"^\W*(oi|oie|ola|alo|bom dia|boa tarde|boa noite|hey|hi|hello|hola|buenos dias|buenas tardes|buenas|e ai|opa|good morning|good afternoon)\b"
)
_SMALLTALK = re.compile(
    r"^\W*(tudo bem|tudo bom|td bem|td bom|como vai|como voce esta|e voce|e vc|tudo joia|como esta)\b.{0,20}$"
    r"|^\W*(e )?(tudo bem|td bem) com (voce|vc)\W*$"
    r"|^\W*(queria|gostaria de|quero|posso) (saber|perguntar|tirar) (uma|umas|algumas) (coisa|coisas|duvida|duvidas)\W*$"
    r"|^\W*(tenho|tenho uma|tenho umas|tenho algumas) (duvida|duvidas|pergunta|perguntas)\W*$|^\W*posso (te )?(fazer uma|perguntar)\b.{0,15}$"
    r"|^\W*[?!.]+\W*$|\b(voce|vc) e (um |uma )?(robo|bot|pessoa|humano|humana|ia|maquina)\b|^\W*(k{2,}|(ha){2,}|rs+|hmm+|hum+)\W*$"
    r"|^\W*(how are you|are you a (bot|robot|person))\b|^\W*(como estas|eres un (robot|bot))\b"
)
_CHOICE = re.compile(
    r"^\W*(?:(?:pode ser |quero |prefiro |fico com |vou de |escolho )?(?:a |o |esse |essa )?(?:opcao|opção|numero|option|opcion|n|#)?\s*)(\d)\s*(?:[ºo°ªa]\s*)?(?:opcao|horario)?(?:\s+(?:mesmo|entao|por favor|pf|pfv))?[.!]?\W*$"
)
_CHOICE_WORD = re.compile(
    r"\b(?:a |o |la |el |the |opcao |option )?(primeir[ao]|segund[ao]|terceir[ao]|ultim[ao]|first|second|third|last|primera?o?|segund[ao]|tercer[ao]?)\b"
    # "segunda dia 8 de manhã", "segunda às 9", "segunda que vem": the weekday, not the second option.
    r"(?!\s*(?:ano|serie|grado|filh|via|vez|feira|dia\b|de manha|de tarde|a tarde|de noite|a noite|pela|cedo|as\b|às|que vem|\d))"
)
# "pode ser o mais cedo q tiver", "the earliest": the first offer (the last for "o mais tarde").
_EARLIEST_OR_LATEST = re.compile(r"\b(?:o|a|the) mais (cedo|tarde)\b|\bthe (earliest|latest)\b")
_CHOICE_WORDS = {
    "primeir": 1,
    "first": 1,
    "primer": 1,
    "segund": 2,
    "second": 2,
    "terceir": 3,
    "third": 3,
    "tercer": 3,
    "ultim": -1,
    "last": -1,
}
# Words that open a question even without "?" ("qual o valor", "queria saber se…")…
_STRONG_QUESTION_WORDS = (
    r"qual|quais|quanto|quanta|quantos|quantas|como|onde|aonde|quando|que horas|o que|oque|quem|"
    r"a partir de (?:que|qual|quantos)|com (?:que|qual|quantos) (?:idade|anos)|ate (?:que|qual) idade|que idade|"
    r"what|how|when|where|which|who|cuanto|cual|cuales|donde|quien|"
    r"gostaria de saber|queria saber|quero saber|queria entender|queria uma informacao|me fala|me diz|me diga|me informa|me explica"
    r"|me passa|me passe|me manda|me mande|me envia|me envie|pode me passar|poderia me passar|pode me mandar|pode me dizer|pode me falar"
    r"|e se|se tem|se voces|se e|sabe (me )?dizer"
    r"|(?:preco|precos|valor|valores)(?= \w+\s*$| de | da | do | pra | para |\s*$)"
    r"|(?:queria|quero|gostaria de|vim|vou querer) (?:ver|saber) (?:sobre )?(?:o |os |a |as )?(?:valor|valores|preco|precos|mensalidade|quanto|como)"
)
# …and words that open one only when the sentence asks ("tem estacionamento?", "pode pagar no pix?").
_WEAK_QUESTION_WORDS = (
    r"tem|teria|tinha|existe|ha|voces|voce|pode|posso|podem|aceita|aceitam|funciona|funcionam|abre|abrem|precisa|"
    r"da para|e possivel|seria|vale a pena|e verdade|eu posso|ele pode|ela pode|do you|does|can|is there|are there|hay|tienen|aceptan"
)
_QUESTION_WORDS = _STRONG_QUESTION_WORDS + "|" + _WEAK_QUESTION_WORDS
_QUESTION_START = re.compile(r"^(?:" + _QUESTION_WORDS + r")\b")
_STRONG_START = re.compile(r"^(?:" + _STRONG_QUESTION_WORDS + r")\b")
# "e se dá pra pagar no cartão" asks a second question; "e se fizer inglês também" goes on with the first.
_SE_ASKS = r"se\s+(?:tem|da|pode|podem|aceita|aceitam|faz|fazem|funciona|precisa|e|existe|oferece|oferecem|cobra|cobram|vale|abre|abrem|atende|atendem)\b"
# The splitters read the parent's spelling (folded, not prepared, to keep positions): "e qto custa"
# and "qts vezes" cut like "e quanto custa" and "quantas vezes".
_SPLIT_QUESTIONS = re.compile(
    r"(?:,|;|\be\b)\s+(?=(?:" + spelt_as(_STRONG_QUESTION_WORDS) + r")\b|" + _SE_ASKS + ")"
)
_SPLIT_ASKING = re.compile(r"(?:,|;|\be\b)\s+(?=(?:" + spelt_as(_QUESTION_WORDS) + r")\b)")
_FILLER_START = re.compile(
    r"^(?:(?:(?:e|eh) que|oi|ola|oie|bom dia|boa tarde|boa noite|tudo bem|tudo bom|hello|hi|hola|buenas|ah|ahn|ops|ok|entao|e ai|opa|mo[cç]a"
    r"|ta bom|esta bom|ah ta|ah esta|entendi|beleza|blz|certo|kk+|brincadeira|hmm+"
    r"|ah sim|tenho algumas duvidas|tenho uma duvida|uma duvida|outra coisa|alem disso|also|tambem|mais uma coisa|e"
    r"|so pra saber|so para saber|pra saber|para saber|so uma pergunta|uma pergunta|algumas duvidas( antes de marcar)?|umas duvidas( rapidas)?"
    r"|eu"
    r"|" + "|".join(facts_module.interjections()) + r")\b[\s,!.:;-]*)+"
)
# What an elliptical question leans on ("tem TDAH. vcs aceitam?", "vcs trabalham com isso?"):
# pronouns, places and "isso" say nothing of the topic.
_DEICTIC = frozenset(
    "voces voce vc vcs ai aqui isso isto esse essa disso nisso com de tambem entao ne sim la a o e "
    "you it this that there do does ustedes eso esto alli".split()
)
EN_WORDS = set(
    "the my is can how much what hello hi son daughter does do you price cost please want schedule years old visit book "
    "thanks thank have kid when where we our would like could just moved great also here fee monthly".split()
)
ES_WORDS = set(
    "el la mi hijo hija cuanto cuesta precio hola quiero tiene anos años puede usted ustedes gracias buenos buenas quisiera "
    "cita horario tienen es una hablar como nino niña nina soy somos vivimos hace poco queremos que haga viernes sabado "
    "ella ellos mañana usted".split()
)
PT_WORDS = set(
    "voce vcs vc quero meu minha filho filha quanto tem oi ola obrigado obrigada nao sim pra para e de do da custa gostaria "
    "queria bom boa tarde dia noite ele ela anos ano horario qual visita agendar sou tudo bem aqui".split()
)
INTENT_FLOOR = {
    Intent.OPT_OUT: 0.85,
    Intent.HUMAN: 0.7,
    Intent.COMPLAINT: 0.7,
    Intent.INJECTION: 0.7,
    Intent.CANCEL: 0.7,
    Intent.RESCHEDULE: 0.55,
    Intent.MY_VISIT: 0.55,
    Intent.BOOK: 0.55,
    Intent.SMALLTALK: 0.55,
    Intent.OFFTOPIC: 0.6,
    Intent.AFFIRM: 0.6,
    Intent.DENY: 0.6,
    Intent.THANKS: 0.7,
    Intent.GREETING: 0.7,
}


@dataclass
class Understood:
    text: str = ""
    language: str = "pt"
    intents: set[Intent] = field(default_factory=set)
    facts: Facts = field(default_factory=Facts)
    questions: list[str] = field(default_factory=list)
    choice: int | None = None  # 1-based option of the last offer; -1 = the last one
    when: When | None = None
    prediction: Prediction | None = None
    source: str = "rules"
    defers: bool = False  # "depois eu vejo", "vou falar com meu marido": the parent will come back

    def has(self, intent: Intent | str) -> bool:
        return Intent(intent) in self.intents

    @property
    def correction(self) -> bool:
        return self.facts.correction


def detect_language(text: str, *, previous: str = "pt") -> str:
    words = re.findall(r"[a-zñ']+", fold(text))
    if not words:
        return previous
    scores = {
        "pt": sum(w in PT_WORDS for w in words),
        "en": sum(w in EN_WORDS for w in words),
        "es": sum(w in ES_WORDS for w in words),
    }
    best = max(scores, key=lambda k: scores[k])
    # Portuguese shares many words with Spanish: switch only on clear evidence.
    if best == previous or scores[best] <= scores.get(previous, 0) or (scores[best] < 2 and len(words) > 2):
        return previous
    if best != "pt" and scores[best] < scores["pt"] + 2 and previous == "pt":
        return previous
    return best


def clauses(text: str) -> list[str]:
    """The turn cut into sentences and each sentence into its questions: fragments of a burst
    ("qto ta" / "pra matematica") are one sentence; "qual o valor, quantas vezes por semana e se
    tem onde estacionar" are three."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    joined = ""
    for line in lines:
        joined += (" " if not joined or joined[-1] in "?!.:;" else " ") + line
    parts: list[str] = []
    for sentence in re.split(r"(?<=[?!.:])\s+|(?<=\?)(?=\S)", joined.strip()):
        sentence = sentence.strip(" ,;")
        if not sentence:
            continue
        # Folded, but "é" (a verb) kept apart from "e" (and): "mat é onde ele sofre" is one clause.
        folded = "".join(
            "é" if ch == "é" else f for ch, f in zip(sentence.lower(), fold(sentence), strict=False)
        )
        start = 0
        # A sentence that asks ("?") is cut before any question word; another only before strong ones.
        splitter = _SPLIT_ASKING if sentence.rstrip().endswith("?") else _SPLIT_QUESTIONS
        pieces: list[str] = []
        for m in splitter.finditer(folded):
            piece = sentence[start : m.start()].strip(" ,;")
            if len(piece.split()) >= 2:
                pieces.append(piece)
                start = m.end()
        pieces.append(sentence[start:].strip(" ,;"))
        if splitter is _SPLIT_ASKING and len(pieces) > 1:
            # "qnto é a mensalidade, tem estacionamento ai e ele pode levar lanche?": the "?" at the
            # end is every piece's that opens with a question word.
            pieces = [
                p if p.endswith("?") or (n == 0 and not _QUESTION_START.match(_content(p))) else f"{p}?"
                for n, p in enumerate(pieces)
            ]
        # "queria saber se tem desconto e se dá pra pagar no cartão": the second "se…" asks too.
        asking = False
        for piece in pieces:
            plain = fold(piece)
            if asking and re.match(r"se\b", plain) and "?" not in piece:
                piece = f"queria saber {piece}"
            asking = asking or bool(re.search(r"\b(saber|perguntar|duvida|duvidas|entender)\b", plain))
            parts.append(piece)
    return [p for p in parts if p]


def _content(clause: str) -> str:
    """The clause without greetings and fillers at its start."""
    return _FILLER_START.sub("", prepare(clause)).strip(" ,!.:;-")


def _without_told_facts(clause: str, *, step: Step) -> str:
    """ "qnto tá o de português, minha menina tem 7 anos e tá lendo devagar": the question without
    the sentence after it that only tells about the child (the facts are read from the whole)."""
    parts = re.split(r"(?<=[,.;!])\s+", clause)
    if len(parts) < 2:
        return clause
    kept = [parts[0]]
    for part in parts[1:]:
        told = facts_module.extract(part, step=step)
        if "?" in part or is_question(part) or not any(ch.age or ch.school_year for ch in told.children):
            kept.append(part)
    return " ".join(kept).rstrip(" ,;")


def _elliptical(clause: str) -> bool:
    """A question whose only word of substance is its verb ("vcs aceitam?", "atendem?")."""
    words = [w for w in _content(clause).strip(" ?!.").split() if w not in _DEICTIC]
    return len(words) <= 1 and not (words and _STRONG_START.match(words[0]))  # "quanto é?" asks the price


def is_question(clause: str) -> bool:
    if _GREETING.match(prepare(clause)) and not _GREETING.sub("", prepare(clause)).strip(" ,!.?"):
        return False  # "alô?", "oi?": a greeting
    content = _content(clause)
    if not content or _SMALLTALK.search(content) or _SMALLTALK.search(fold(clause)):
        return False
    return "?" in clause or bool(_STRONG_START.match(content))


def _model_intents(prediction: Prediction, *, short: bool) -> set[Intent]:
    found = set()
    for intent, floor in INTENT_FLOOR.items():
        if intent in (Intent.AFFIRM, Intent.DENY, Intent.GREETING, Intent.THANKS) and not short:
            continue
        if prediction.score_of(intent) >= floor:
            found.add(intent)
    return found


def understand(
    text: str,
    *,
    step: Step | str = Step.NONE,
    language: str = "pt",
    today: dt.date,
    offered: bool = False,
    use_model: bool = True,
) -> Understood:
    """`step`: what the receptionist asked last; `offered`: slots are on the table (a number or
    "o segundo" picks one)."""
    step = Step.parse(str(step))
    folded = fold(text)
    t = prepare(text)
    u = Understood(text=text, language=detect_language(text, previous=language))
    words = t.split()
    short = len(words) <= 5
    if _OPT_OUT.search(t) or _OPT_OUT.search(folded):
        u.intents.add(Intent.OPT_OUT)
    if _HUMAN.search(_TALK_AT_HOME.sub(" ", t)):
        u.intents.add(Intent.HUMAN)
    if _COMPLAINT.search(_THIRD_PARTY_COMPLAINT.sub(" ", t)):
        u.intents.add(Intent.COMPLAINT)
    if _INJECTION.search(t):
        u.intents.add(Intent.INJECTION)
    if _MY_VISIT.search(t):
        u.intents.add(Intent.MY_VISIT)
    if _CANCEL.search(t) and not _CANCEL_OTHER.search(t):
        u.intents.add(Intent.CANCEL)
    u.defers = bool(DEFERS.search(t))
    # "cancelar a visita… depois eu remarco": a cancellation now, a new time some other day.
    lessons = bool(_LESSON_MOVE.search(t)) and not _VISIT_WORD.search(t)
    if _RESCHEDULE.search(DEFERS.sub(" ", t) if Intent.CANCEL in u.intents else t) and not lessons:
        u.intents.add(Intent.RESCHEDULE)
    if _BOOK.search(_FEE_OF_ENROLMENT.sub(" ", t)) and not u.intents & {
        Intent.RESCHEDULE,
        Intent.CANCEL,
        Intent.MY_VISIT,
    }:
        u.intents.add(Intent.BOOK)
    strong = u.intents & {
        Intent.OPT_OUT,
        Intent.HUMAN,
        Intent.COMPLAINT,
        Intent.INJECTION,
        Intent.RESCHEDULE,
        Intent.CANCEL,
    }
    if not strong and _AFFIRM.match(t) and not re.match(r"^\W*pode (ser )?(que|q)\b", t):
        u.intents.add(Intent.AFFIRM)
    elif not strong and _DENY.match(t):
        u.intents.add(Intent.DENY)
    if _THANKS.search(t):
        u.intents.add(Intent.THANKS)
    if _GREETING.match(t):
        u.intents.add(Intent.GREETING)
    bare = _GREETING.sub("", t).strip(" ,!.")
    if _SMALLTALK.search(t) or _SMALLTALK.search(folded) or (bare and _SMALLTALK.search(bare)):
        u.intents.add(Intent.SMALLTALK)
    if use_model and words:
        u.prediction = model().predict(text)
        guessed = _model_intents(u.prediction, short=short)
        # The model adds what the rules could not list; it never overrides an exact rule, and the
        # intents that act on their own (opt-out, cancel) need a rule or a near-certain model.
        if Intent.OPT_OUT in guessed and not short:
            guessed.discard(Intent.OPT_OUT)
        if u.intents & {Intent.AFFIRM, Intent.DENY}:
            guessed -= {Intent.AFFIRM, Intent.DENY}
        # Moving a visit on the model's word alone needs the parent to name a time or a conflict.
        if (
            Intent.RESCHEDULE in guessed
            and Intent.RESCHEDULE not in u.intents
            and not (CONFLICT.search(t) or not parse_when(text, today=today).empty)
        ):
            guessed.discard(Intent.RESCHEDULE)
        if Intent.HUMAN not in u.intents and _TALK_AT_HOME.search(t):
            guessed.discard(Intent.HUMAN)
        if lessons:
            guessed.discard(Intent.RESCHEDULE)
        if Intent.COMPLAINT not in u.intents and _THIRD_PARTY_COMPLAINT.search(t):
            guessed.discard(Intent.COMPLAINT)
        # "pode desmarcar a visita de sexta?": cancelling by the rule's word is not also a move on
        # the model's guess (the day said is the visit's own).
        if Intent.CANCEL in u.intents and Intent.RESCHEDULE not in u.intents:
            guessed.discard(Intent.RESCHEDULE)
        if Intent.CANCEL in u.intents and Intent.RESCHEDULE not in u.intents and u.defers:
            guessed.discard(Intent.RESCHEDULE)
        u.intents |= guessed
    u.facts = facts_module.extract(text, step=step)
    if not u.facts.empty and not strong:
        u.intents.add(Intent.GIVE_INFO)
    when = parse_when(text, today=today)
    if not when.empty:
        u.when = when
    if offered or step in (Step.OFFER_SLOTS, Step.CONFIRM_SLOT, Step.CLARIFY):
        m = _CHOICE.match(t)
        if m:
            u.choice = int(m.group(1))
        elif (m := _CHOICE_WORD.search(t)) and (when.time is None or step == Step.CLARIFY):
            u.choice = next(v for k, v in _CHOICE_WORDS.items() if fold(m.group(1)).startswith(k))
        elif (m := _EARLIEST_OR_LATEST.search(t)) and when.time is None:
            u.choice = (
                1 if (m.group(1) or m.group(2)) in ("cedo", "earliest") else -1
            )  # the offers are in time order
        if u.choice is not None:
            u.intents.add(Intent.CHOOSE)
    parts = clauses(text)
    for clause, previous in zip(parts, ["", *parts[:-1]], strict=True):
        if not is_question(clause):
            continue
        c = prepare(clause)
        told = facts_module.extract(clause, step=step)
        if (
            "?" not in clause
            and not _STRONG_START.match(_content(clause))
            and (
                _AFFIRM.match(c)
                or _DENY.match(c)
                or told.parent_name
                or any(ch.name or ch.age or ch.school_year for ch in told.children)
            )
        ):
            continue  # "pode ser", "tem 8 anos": an answer, not a question
        if _ABOUT_AUDIO.search(c):
            continue  # "vc não escuta áudio?": the reply to the voice note has said so already
        if DEFERS.search(c) and not _STRONG_START.match(_content(clause)):
            continue  # "vou conversar com meu marido e depois te chamo, tá?": a deferral, not a question
        # Clauses the booking flow or the visit owns are not knowledge questions.
        if (
            (_RESCHEDULE.search(c) and not (_LESSON_MOVE.search(c) and not _VISIT_WORD.search(c)))
            or (_CANCEL.search(c) and not _CANCEL_OTHER.search(c))
            or _HUMAN.search(c)
            or _INJECTION.search(c)
            or _MY_VISIT.search(c)
        ):
            continue
        if booking_clause(c, today=today, step=step) or booking_request(c):
            continue
        if u.choice is not None and _CHOICE_WORD.search(c):
            continue  # "troca pro segundo que vc mandou?": an option of the offer, not the FAQ's
        clause = _without_told_facts(clause, step=step)
        if previous and not is_question(previous) and _elliptical(clause):
            clause = f"{previous.rstrip(' ,;.!')}. {clause}"  # "meu filho tem TDAH. vcs aceitam?": the topic is before
        u.questions.extend(conjoined(clause))
    if u.questions:
        u.intents.add(Intent.QUESTION)
    return u


_SLOT_WORDS = re.compile(
    r"\b(horario|horarios|vaga|vagas|visita|agend|marcar|marca|ir ai|ir conhecer|conhecer|levar|pra gente ir|dia|da pra|pode ser|pode|tem|teria"
    r"|disponivel|disponibilidade|livre|slot|time|times|available|visit|come|horas?|lugar|turno|cupo|tienen)\b"
)
# A question about the opening hours ("vcs abrem sábado?", "tão funcionando hj?").
OPENING = re.compile(
    r"\b(aberto|abertos|aberta|abertas|abre|abrem|abrindo|funciona|funcionam|funcionando|atende|atendem|atendendo"
    r"|open|abierto|abren|fecha|fecham|fechado|fechados)\b"
    # "o horário de vocês", "horário de funcionamento" — not "que horários vocês têm amanhã?",
    # which asks for free times.
    r"|\bhorarios? (?:(?:de |da |do )(?:voces|unidade|kumon)|(?:de |da |do )?(?:funcionamento|atendimento|expediente))\b"
    r"|\bexpediente\b|\bopening hours\b"
)


_ASKS_TO_BOOK = re.compile(
    r"\b(?:tem como|teria como|da pra|da para|posso|podemos|consigo|conseguimos|como faco (?:pra|para)|queria|quero|gostaria de|pode|ainda (?:faz|fazem))\s+"
    r"(?:eu\s+|a gente\s+)?(?:(?:levar|leva|trazer)(?!\s+(?:o |a |um |uma )?(?:lanche|lanchinho|comida|agua|garrafa|squeeze|material|lapis|borracha|caderno|calculadora|celular|tablet|fone|brinquedo|livro|pasta|mochila|estojo|algo|alguma coisa|nada|o que))|marcar|agendar|ir(?!\s+(?:de|a pe|com|sozinh|pelo|pela|por|embora))|visitar|conhecer|inscrever|matricular|fazer (?:a|uma) (?:visita|avaliacao|matricula|o teste)|(?:aquela |a )?avaliacao)\b"
    r"|\b(?:can|could) (?:we|i) (?:come|visit|book|schedule)\b|\bpodemos (?:ir|visitar|agendar)\b"
)
_ASKS_INFO = re.compile(
    r"\b(quanto|quanta|qual|quais|valor|preco|custa|o que|documento|precisa levar|como funciona|dura|demora)\b"
)


# "quanto é a mensalidade e a matrícula?": one question word asking for two things.
_TWO_THINGS = re.compile(
    r"^(?P<head>.*?\b(?:quanto|qto|qnto|qual|quais|valor|preco|how much|what is|what's|cuanto)\b.*?)\s+"
    r"(?P<a>(?:a|o|as|os|da|do|the|la|el)\s+[a-z]+(?:\s+de\s+[a-z]+)?)\s+(?:e|and|y)\s+"
    r"(?P<b>(?:a|o|as|os|da|do|the|la|el)\s+[a-z]+(?:\s+de\s+[a-z]+)?)\s*\??\s*$"
)


def conjoined(question: str) -> list[str]:
    """The question, or the two questions it asks with one question word."""
    m = _TWO_THINGS.match(fold(question))
    if not m:
        return [question]
    head = m.group("head")
    return [f"{head} {m.group('a')}?", f"{head} {m.group('b')}?"]


def names_an_option(text: str) -> bool:
    """ "o segundo", "a primeira", "the last": an option of an offer is named."""
    return bool(_CHOICE_WORD.search(prepare(text)))


def booking_request(clause: str) -> bool:
    """ "tem como eu levar meu filho pra conhecer?", "consigo marcar a visita?": a request to book
    phrased as a question — the booking flow answers it, not the FAQ."""
    return bool(_ASKS_TO_BOOK.search(clause)) and not _ASKS_INFO.search(clause)


def booking_clause(clause: str, *, today: dt.date, step: Step) -> bool:
    """A clause asking for a time for the visit ("tem amanhã de manhã?", "quais horários vcs tem
    essa semana pra visita?", "dá pra fazer a visita num domingo?") belongs to the booking flow."""
    when = parse_when(clause, today=today)
    if OPENING.search(clause) and not re.search(r"\b(visita|agend|marcar)\b", clause):
        return False  # "vcs abrem sábado?" is about the opening hours
    if re.search(r"\baulas?\b|\bclasses?\b|\bclases?\b", clause) and not re.search(
        r"\b(visita|agend|marcar|conhecer)", clause
    ):
        return False  # "tem aula sábado?" is about the classes, not the visit
    if (_LESSON_MOVE.search(clause) or _PAYING.search(clause)) and not _VISIT_WORD.search(clause):
        return False  # "da pra repor essa semana?", "se eu pagar hj tem juros?": lessons and fees
    if when.day is not None or when.time is not None:
        return True  # a day or a time asked for: the booking flow answers it
    if not when.empty and (
        _SLOT_WORDS.search(clause)
        or step in (Step.OFFER_SLOTS, Step.CONFIRM_SLOT)
        or len(clause.split()) <= 6
    ):
        return True
    return bool(
        re.search(
            r"\b(quais|que|tem|teria)\s+(os\s+)?(horarios?|vagas?)\b|\bhorarios? (disponive|livre)", clause
        )
    ) and not re.search(r"\b(funcionamento|abre|abrem|aula|aulas|atendimento|whatsapp)\b", clause)
