"""Fill locale/pt_BR/LC_MESSAGES/django.po from the table below, after `manage.py makemessages -l pt_BR`.

Run: python locale/translate_pt_br.py && python manage.py compilemessages -l pt_BR
Only empty msgstr are filled: a translation edited by hand in the .po wins. Entries msgmerge marked
fuzzy (a guess from a similar string) stay fuzzy, so they are not used until someone checks them."""

from __future__ import annotations

import re
from pathlib import Path

PO = Path(__file__).resolve().parent / "pt_BR" / "LC_MESSAGES" / "django.po"

T = {
    "subjects": "disciplinas", "heard from": "como conheceu",
    "Only the franchise writes knowledge shared by every unit: choose your unit.":
        "Só a franquia escreve conhecimento compartilhado por todas as unidades: escolha a sua unidade.",
    "Franchise administrator (shared knowledge, calendars)": "Administrador da franquia (conhecimento compartilhado, agendas)",
    "Export all data of the selected families (JSON)": "Exportar todos os dados das famílias selecionadas (JSON)",
    "Erase the selected families' personal data (LGPD)": "Apagar os dados pessoais das famílias selecionadas (LGPD)",
    "Erase family data": "Apagar dados da família",
    "%(n)d families erased.": "%(n)d famílias apagadas.",
    "state": "situação", "State": "Situação",
    "waiting for staff": "aguardando atendente", "with staff": "com atendente", "bot": "robô", "closed": "encerrada",
    "family": "família", "Family": "Família", "waiting for": "aguardando há",
    "You took over this conversation: the bot is silent.": "Você assumiu esta conversa: o robô não responde mais.",
    "Handed back to the bot.": "Conversa devolvida ao robô.",
    "Reports": "Relatórios", "day": "dia", "week": "semana", "month": "mês",
    "Knowledge gaps": "Perguntas sem resposta",
    "FAQ entry “%(q)s” created; it is being indexed.": "Pergunta frequente “%(q)s” criada; está sendo indexada.",
    "body": "texto", "Conversations": "Conversas", "mode": "modo", "stage": "etapa", "step": "passo",
    "collected data": "dados coletados", "hand-off requested at": "atendente solicitado em",
    "hand-off reason": "motivo do pedido de atendente", "last activity": "última atividade",
    "conversation": "conversa", "conversations": "conversas", "in": "recebida", "out": "enviada",
    "parent": "família", "staff": "atendente", "text": "texto", "audio": "áudio", "image": "imagem",
    "document": "documento", "sticker": "figurinha", "reaction": "reação", "other": "outro",
    "received": "recebida", "handled": "tratada", "queued": "na fila", "sending": "enviando", "sent": "enviada",
    "delivered": "entregue", "read": "lida", "failed": "falhou", "not sent": "não enviada",
    "provider id": "id no provedor", "raw payload": "conteúdo bruto", "message": "mensagem", "messages": "mensagens",
    "Conversations started in the period (first message of a family).":
        "Conversas iniciadas no período (primeira mensagem de uma família).",
    "New leads": "Novos contatos",
    "Families (contacts) who wrote to the unit for the first time in the period.":
        "Famílias (contatos) que escreveram para a unidade pela primeira vez no período.",
    "Qualified leads": "Contatos qualificados",
    "New leads for whom the child's age or school year and the subject of interest are known.":
        "Novos contatos dos quais se sabe a idade ou o ano escolar da criança e a matéria de interesse.",
    "Visits booked": "Visitas agendadas",
    "First visits booked in the period (by chat, staff or API), whatever their later status.":
        "Primeiras visitas agendadas no período (pelo chat, pela equipe ou pela API), qualquer que seja a situação depois.",
    "Attended": "Compareceram", "Visits scheduled in the period and marked attended.":
        "Visitas marcadas para o período e registradas como comparecidas.",
    "No-shows": "Faltas", "Visits scheduled in the period and marked as no-show.":
        "Visitas marcadas para o período e registradas como falta.",
    "Lead → visit": "Contato → visita",
    "Share of the period's new leads who have booked a visit (not cancelled), at any time.":
        "Parcela dos novos contatos do período que agendaram uma visita (não cancelada), a qualquer momento.",
    "Bot-only resolution": "Resolvidas só pelo robô",
    "Share of the period's conversations answered by the bot that never went to staff (no hand-off, no staff message).":
        "Parcela das conversas do período respondidas pelo robô que nunca passaram para a equipe (sem pedido de atendente, sem mensagem da equipe).",
    "Hand-off rate": "Taxa de transferência",
    "Share of the period's conversations that went to staff (hand-off requested, taken over or answered by staff). Bot-only resolution + hand-off rate never exceed 100%.":
        "Parcela das conversas do período que passaram para a equipe (atendente solicitado, conversa assumida ou respondida pela equipe). Resolvidas só pelo robô + taxa de transferência nunca passam de 100%.",
    "Bot first response p50": "Primeira resposta do robô p50",
    "Median time from the family's first message to the bot's first reply (sent, or queued if not yet sent).":
        "Tempo mediano entre a primeira mensagem da família e a primeira resposta do robô (enviada, ou na fila se ainda não enviada).",
    "Bot first response p90": "Primeira resposta do robô p90",
    "90th percentile of the same time.": "Percentil 90 do mesmo tempo.",
    "Staff first response p50": "Primeira resposta da equipe p50",
    "Median time from the hand-off request to the first staff message after it (conversations still with staff or closed by staff).":
        "Tempo mediano entre o pedido de atendente e a primeira mensagem da equipe depois dele (conversas ainda com a equipe ou encerradas por ela).",
    "Staff first response p90": "Primeira resposta da equipe p90",
    "Messages received from families in the period's conversations.":
        "Mensagens recebidas das famílias nas conversas do período.",
    "Messages sent to families in the period's conversations (bot and staff).":
        "Mensagens enviadas às famílias nas conversas do período (robô e equipe).",
    "Prompt tokens sent to the language model in the period's conversations.":
        "Tokens enviados ao modelo de linguagem nas conversas do período.",
    "Completion tokens received from the language model in the period's conversations.":
        "Tokens recebidos do modelo de linguagem nas conversas do período.",
    "Estimated cost of the language model calls of the period's conversations, in US dollars.":
        "Custo estimado das chamadas ao modelo de linguagem nas conversas do período, em dólares.",
    "Conversations started in the period (first message of a family). Messages, tokens and cost below are those of these conversations.":
        "Conversas iniciadas no período (primeira mensagem de uma família). Mensagens, tokens e custo abaixo são os dessas conversas.",
    "Messages in": "Mensagens recebidas", "Messages received from families in the period.":
        "Mensagens recebidas das famílias no período.",
    "Messages out": "Mensagens enviadas", "Messages sent to families in the period (bot and staff).":
        "Mensagens enviadas às famílias no período (robô e equipe).",
    "Opted out": "Descadastradas", "Families who asked not to receive messages, in the period.":
        "Famílias que pediram para não receber mensagens, no período.",
    "Unanswered questions": "Perguntas sem resposta",
    "Questions the bot could not answer from the knowledge (knowledge gaps).":
        "Perguntas que o robô não soube responder com a base de conhecimento.",
    "LLM tokens in": "Tokens do modelo (entrada)", "Prompt tokens sent to the language model.":
        "Tokens enviados ao modelo de linguagem.",
    "LLM tokens out": "Tokens do modelo (saída)", "Completion tokens received from the language model.":
        "Tokens recebidos do modelo de linguagem.",
    "Estimated LLM cost (USD)": "Custo estimado do modelo (USD)",
    "Estimated cost of the language model calls, in US dollars.":
        "Custo estimado das chamadas ao modelo de linguagem, em dólares.",
    "knowledge used": "conhecimento usado", "No messages yet.": "Nenhuma mensagem ainda.", "Home": "Início",
    "Inbox": "Caixa de entrada", "reason": "motivo", "Write to the family…": "Escreva para a família…",
    "Send reply": "Enviar resposta",
    "Replying takes the conversation over: the bot stops.": "Responder assume a conversa: o robô para.",
    "Take over": "Assumir conversa", "Note for the bot (optional)": "Observação para o robô (opcional)",
    "Hand back to the bot": "Devolver ao robô", "phone": "telefone", "name": "nome", "unit": "unidade",
    "opted out": "descadastrada", "Lead data": "Dados do contato", "Nothing collected yet.": "Nada coletado ainda.",
    "Note for the bot": "Observação para o robô", "Appointments": "Agendamentos", "No appointments.": "Nenhum agendamento.",
    "Waiting for staff first (oldest first), then with staff, bot and closed. Refreshes every 30 seconds.":
        "Primeiro as que aguardam atendente (as mais antigas primeiro), depois com atendente, com o robô e encerradas. Atualiza a cada 30 segundos.",
    "Questions the bot could not answer from the knowledge, grouped by similar wording, the most asked first. Answering creates an FAQ entry; every wording of the group becomes an alternative phrasing.":
        "Perguntas que o robô não soube responder, agrupadas por semelhança, as mais feitas primeiro. Responder cria uma pergunta frequente; cada forma de perguntar do grupo vira uma variação.",
    "all units": "todas as unidades", "Answer this": "Responder", "Question": "Pergunta", "Answer": "Resposta",
    "shared by every unit": "compartilhada por todas as unidades", "Create FAQ entry": "Criar pergunta frequente",
    "No unanswered questions.": "Nenhuma pergunta sem resposta.", "Units": "Unidades", "Period": "Período",
    "From": "De", "To": "Até", "Show": "Mostrar", "Download CSV": "Baixar CSV",
    "From %(start)s to %(end)s": "De %(start)s a %(end)s", "Metric": "Indicador", "By period": "Por período",
    "Definitions": "Definições",
    "Days, weeks (from Monday) and months in the São Paulo time zone; each row counts the events that happened in it.":
        "Dias, semanas (a partir de segunda-feira) e meses no fuso de São Paulo; cada linha conta os eventos ocorridos nela.",
    "Content": "Conteúdo", "Indexing": "Indexação", "Re-index selected sources": "Reindexar as fontes selecionadas",
    "%d sources queued for indexing.": "%d fontes na fila de indexação.", "Test search": "Testar busca",
    "Knowledge": "Conhecimento", "FAQ entry": "Pergunta frequente", "pending": "pendente", "indexed": "indexada",
    "kind": "tipo", "external id": "id externo", "title": "título", "question": "pergunta",
    "answer / body": "resposta / texto", "overrides shared entry": "substitui a entrada compartilhada",
    "document file": "arquivo", "published": "publicada", "indexing": "indexação",
    "knowledge source": "fonte de conhecimento", "knowledge sources": "fontes de conhecimento",
    "phrasing": "variação", "alternative phrasing": "variação da pergunta", "alternative phrasings": "variações da pergunta",
    "whole entry": "entrada inteira", "document passage": "trecho de documento", "chunk": "trecho", "chunks": "trechos",
    "knowledge gap": "pergunta sem resposta", "knowledge gaps": "perguntas sem resposta", "Search": "Buscar",
    "I don't know": "Não sei", "confidence": "confiança", "Normalised query": "Consulta normalizada",
    "entry": "entrada", "matched chunk": "trecho encontrado", "Nothing found.": "Nada encontrado.",
    "Unit": "Unidade", "Parent's message": "Mensagem do responsável", "Entries shown": "Entradas mostradas",
    "Ask which one": "Perguntar qual das duas", "Normalised message": "Mensagem normalizada",
    "nearest catalogue topic": "tema do catálogo mais próximo", "The bot would send": "O assistente enviaria",
    "The bot would ask which of these the parent means": "O assistente perguntaria qual destas o responsável quer saber",
    "what matched": "o que coincidiu", "catalogue topic": "tema do catálogo", "similarity": "similaridade",
    "topic score": "pontuação do tema", "word match": "palavras em comum", "rank score": "pontuação final",
    "Catalogue topic": "Tema do catálogo", "— no topic —": "— sem tema —",
    "Linked by similarity at indexing (score beside it); a change here is kept.":
        "Ligado por similaridade na indexação (pontuação ao lado); uma escolha feita aqui é mantida.",
    "topic similarity": "similaridade com o tema", "topic chosen by": "tema escolhido por",
    "staff": "equipe", "no topic (staff)": "sem tema (equipe)",
    "generated": "gerada", "answer sentence": "frase da resposta", "indexing error": "erro de indexação",
    "alternative phrasings (how parents ask it)": "variações da pergunta (como os pais perguntam)",
    "Kumon Receptionist": "Recepção Kumon", "Unit workplace": "Painel da unidade",
    "default (WHATSAPP_GATEWAY)": "padrão (WHATSAPP_GATEWAY)", "console (simulator)": "console (simulador)",
    "local (this database)": "local (este banco de dados)", "slug": "identificador", "time zone": "fuso horário",
    "address": "endereço", "city": "cidade", "staff WhatsApp": "WhatsApp da equipe", "greeting": "saudação",
    "active": "ativa", "WhatsApp gateway": "gateway do WhatsApp", "Evolution instance": "instância Evolution",
    "webhook secret": "segredo do webhook", "Meta phone number id": "id do número na Meta",
    "Meta reminder template": "modelo de lembrete da Meta", "calendar": "agenda",
    "Google calendar id": "id da agenda Google", "visit duration (min)": "duração da visita (min)",
    "buffer before (min)": "intervalo antes (min)", "buffer after (min)": "intervalo depois (min)",
    "minimum notice (min)": "antecedência mínima (min)", "booking window (days)": "janela de agendamento (dias)",
    "families per slot": "famílias por horário",
    "parent may change/cancel until (min before)": "a família pode alterar/cancelar até (min antes)",
    "what to bring": "o que trazer", "units": "unidades", "owner": "proprietário", "role": "papel",
    "membership": "vínculo", "memberships": "vínculos", "phone (E.164)": "telefone (E.164)",
    "lead data": "dados do contato", "opted out at": "descadastrada em", "consent at": "consentimento em",
    "erased at": "apagada em", "contact": "contato", "contacts": "contatos", "Language": "Idioma",
    "These families' personal data will be erased: messages anonymised, phone replaced by a token, name and lead data cleared; appointments are kept for statistics without names, phone or notes. This cannot be undone.":
        "Os dados pessoais destas famílias serão apagados: mensagens anonimizadas, telefone trocado por um código, nome e dados do contato removidos; os agendamentos ficam para as estatísticas, sem nomes, telefone ou observações. Não é possível desfazer.",
    "Yes, erase": "Sim, apagar", "Cancel": "Cancelar", "Scheduling": "Agenda",
    "Monday": "Segunda-feira", "Tuesday": "Terça-feira", "Wednesday": "Quarta-feira", "Thursday": "Quinta-feira",
    "Friday": "Sexta-feira", "Saturday": "Sábado", "Sunday": "Domingo", "weekday": "dia da semana",
    "from": "de", "until": "até", "opening hours": "horário de funcionamento", "until (inclusive)": "até (inclusive)",
    "closure": "fechamento", "closures": "fechamentos", "booked": "agendada", "confirmed": "confirmada",
    "cancelled": "cancelada", "attended": "compareceu", "no-show": "faltou", "chat": "chat", "start": "início",
    "end": "fim", "place": "vaga", "status": "situação", "source": "origem", "child": "criança",
    "child age": "idade da criança", "school year": "ano escolar", "subject": "matéria", "notes": "observações",
    "calendar event": "evento na agenda", "appointment": "agendamento", "appointments": "agendamentos",
    "rescheduled": "remarcada", "what": "o quê", "when": "quando", "appointment event": "histórico do agendamento",
    "appointment events": "históricos de agendamento", "held for": "reservada para", "expires at": "expira em",
    "slot hold": "reserva de horário", "slot holds": "reservas de horário", "skipped": "ignorado",
    "due at": "previsto para", "reason / last error": "motivo / último erro", "sent at": "enviado em",
    "reminder": "lembrete", "reminders": "lembretes",
    "message no-shows offering a new time": "mandar mensagem às faltas oferecendo novo horário",
    "no-show message hour (next day, local time)": "hora da mensagem de falta (dia seguinte, horário local)",
    "booking options": "opções de agendamento",
    "this week": "esta semana", "next week": "próxima semana", "Mark attended": "Marcar comparecimento",
    "Mark no-show": "Marcar falta", "Confirm": "Confirmar",
    # Not yet: "marked attended" / "marked no-show" (scheduling's action messages) — its tests assert
    # the English text; translate them once those tests pin the language.
    "today": "hoje", "from now on": "daqui em diante", "past": "passados",
    "Sync with the calendar again": "Sincronizar com a agenda de novo",
    "Send again (failed only)": "Enviar de novo (só as que falharam)",
    # Issue #11 (security): the lockout page, the simulator's contacts.
    "Too many failed logins": "Muitas tentativas de acesso sem sucesso",
    "If you forgot your password, ask your unit's owner or the franchise to reset it.":
        "Se você esqueceu a senha, peça ao responsável pela unidade ou à franquia para redefini-la.",
    "simulator contact": "contato do simulador",
    "Rotate the webhook secret (shown once)": "Trocar o segredo do webhook (mostrado uma vez)",
    "Only a unit's owner rotates its webhook secret.": "Só o responsável pela unidade troca o segredo do webhook.",
    "New webhook secrets": "Novos segredos do webhook",
    "Copy each new secret into the unit's WhatsApp provider now (Evolution: the webhook's X-Webhook-Secret header). "
    "It is not shown again, and the old secret is already refused.":
        "Copie agora cada novo segredo no provedor de WhatsApp da unidade (Evolution: o cabeçalho X-Webhook-Secret "
        "do webhook). Ele não é mostrado de novo, e o segredo antigo já é recusado.",
    "new webhook secret": "novo segredo do webhook", "Done": "Concluído",
}
PLURALS = {
    "asked %(n)s time": ("perguntada %(n)s vez", "perguntada %(n)s vezes"),
    "%(n)d webhook secret rotated.": ("%(n)d segredo do webhook trocado.", "%(n)d segredos do webhook trocados."),
    "Access blocked after too many wrong passwords. Try again in %(minutes)s minute.": (
        "Acesso bloqueado depois de muitas senhas erradas. Tente de novo em %(minutes)s minuto.",
        "Acesso bloqueado depois de muitas senhas erradas. Tente de novo em %(minutes)s minutos."),
}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fill(text: str) -> str:
    out = []
    for entry in text.split("\n\n"):
        match = re.search(r'^msgid ((?:".*"\n)+)', entry + "\n", re.M)
        if match:
            msgid = "".join(re.findall(r'"(.*)"', match.group(1))).replace('\\"', '"')
            if msgid in PLURALS and 'msgstr[0] ""' in entry:
                one, many = PLURALS[msgid]
                entry = re.sub(r'msgstr\[0\] ""\nmsgstr\[1\] ""', f"msgstr[0] {_quote(one)}\nmsgstr[1] {_quote(many)}", entry)
            elif msgid in T and re.search(r'^msgstr ""\s*$', entry, re.M | re.S):
                entry = re.sub(r'^msgstr ""\s*$', "msgstr " + _quote(T[msgid]), entry, flags=re.M | re.S)
        out.append(entry)
    return "\n\n".join(out)


def header(text: str) -> str:
    text = text.replace("# SOME DESCRIPTIVE TITLE.", "# Kumon Receptionist – Português (Brasil).", 1)
    text = text.replace("#, fuzzy\nmsgid \"\"", "msgid \"\"", 1)
    return text.replace('"Language: \\n"', '"Language: pt_BR\\n"', 1)


if __name__ == "__main__":
    PO.write_text(fill(header(PO.read_text())))
