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
    "parent": "família", "text": "texto", "audio": "áudio", "image": "imagem",
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
    "what to bring": "o que trazer", "subjects offered": "disciplinas oferecidas",
    "it asks for someone's personal data": "pede dados pessoais de alguém",
    "Comma-separated: Matemática, Português, Inglês, Japonês.": "Separadas por vírgula: Matemática, Português, Inglês, Japonês.",
    "units": "unidades", "owner": "proprietário", "role": "papel",
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
    "today": "hoje", "from now on": "daqui em diante", "past": "passados",
    "Sync with the calendar again": "Sincronizar com a agenda de novo",
    "Send again (failed only)": "Enviar de novo (só as que falharam)",
    # Issue #14: the workplace in Portuguese.
    "assigned to": "atendente responsável", "less than a minute": "menos de 1 minuto",
    "%(h)d h %(m)02d min": "%(h)d h %(m)02d min", "part": "parte", "attempts": "tentativas", "details": "detalhes",
    "staff member": "atendente",
    "Only the language model (when one is configured) and staff read this note: the bot's rules do not use it. Correct a name, age or subject in the appointment or tell the family directly.":
        "Só o modelo de linguagem (quando houver um configurado) e a equipe leem esta observação: as regras do robô não a usam. Corrija nome, idade ou matéria no agendamento ou fale direto com a família.",
    "Evolution API": "Evolution API", "Meta Cloud API": "Meta Cloud API", "Google Calendar": "Google Agenda",
    "This belongs to another unit.": "Isto pertence a outra unidade.",
    "the visit was cancelled": "a visita foi cancelada", "the family came to the visit": "a família compareceu à visita",
    "the family missed the visit": "a família faltou à visita", "the visit was confirmed": "a visita foi confirmada",
    "the visit is booked again": "a visita voltou a ficar agendada",
    "the family asked not to receive messages": "a família pediu para não receber mensagens",
    "the visit had already started": "a visita já tinha começado",
    "the visit was booked after this reminder was due": "a visita foi agendada depois do horário deste lembrete",
    "the appointment has no family contact": "o agendamento não tem contato da família",
    "after a missed visit": "depois da falta", "new time notice": "aviso de novo horário",
    "%(hours)s h before": "%(hours)s h antes", "history": "histórico", "history entry": "registro do histórico",
    "Free times": "Horários livres", "Or another time": "Ou outro horário",
    "In the unit's time zone. The same rules as the chat apply (hours, notice, places).":
        "No fuso horário da unidade. Valem as mesmas regras do chat (horário de funcionamento, antecedência, vagas).",
    "Tell the family the new time on WhatsApp": "Avisar a família do novo horário pelo WhatsApp",
    "Choose a free time or type another one.": "Escolha um horário livre ou digite outro.",
    "Visit moved to %(when)s.": "Visita remarcada para %(when)s.",
    "The family gets a WhatsApp message with the new time.": "A família recebe uma mensagem no WhatsApp com o novo horário.",
    "Reschedule the visit": "Remarcar a visita", "Reschedule (one visit)": "Remarcar (uma visita)",
    "Reschedule": "Remarcar", "Choose exactly one visit to reschedule.": "Escolha uma única visita para remarcar.",
    "Next free": "Próximos horários livres",
    "The unit's calendar could not be read; staff will confirm the time.":
        "Não foi possível ler a agenda da unidade; a equipe vai confirmar o horário.",
    "visit hours": "horários de visita", "first start": "primeiro início", "last start": "último início",
    "API": "API", "WhatsApp": "WhatsApp",
    "not synced (local calendar)": "sem sincronização (agenda local)", "waiting to sync": "aguardando sincronização",
    "in the calendar": "na agenda", "sync failed": "falha na sincronização", "calendar sync": "sincronização da agenda",
    "calendar sync error": "erro de sincronização da agenda", "changed by": "alterado por", "changed at": "alterado em",
    "created at": "data de criação", "status before": "situação antes", "status after": "situação depois",
    "previous time": "horário anterior", "new time": "novo horário", "by the family": "pela família",
    "claimed at": "em envio desde", "message id": "id da mensagem",
    "This appointment is no longer booked.": "Este agendamento não está mais ativo.",
    "A cancelled appointment cannot be marked.": "Um agendamento cancelado não pode ser marcado.",
    "The visit has not started yet.": "A visita ainda não começou.",
    "Only lead details can be edited here.": "Aqui só dá para editar os dados da família.",
    "A hold needs a holder.": "Uma reserva precisa de um responsável.",
    "Invalid phone number.": "Número de telefone inválido.",
    "This time is no longer available.": "Este horário não está mais disponível.",
    "This time cannot be booked.": "Este horário não pode ser agendado.",
    "Not your appointment.": "Este agendamento não é seu.",
    "This visit has already started.": "Esta visita já começou.",
    "Too close to the visit to change it here; staff will help.":
        "Falta pouco para a visita para alterar por aqui; a equipe vai ajudar.",
    "Visit of %(child)s, now on %(when)s.": "Visita de %(child)s, marcada agora para %(when)s.",
    "No free time in the next two weeks.": "Nenhum horário livre nas próximas duas semanas.",
    "Move the visit": "Remarcar a visita", "first message at": "primeira mensagem em", "updated at": "última alteração",
    "we": "nós", "closed at": "encerrada em", "direction": "direção", "sender": "quem enviou",
    "in reply to": "em resposta a", "last error": "último erro", "estimated LLM cost (USD)": "custo estimado do modelo (USD)",
    "handled at": "tratada em", "delivered at": "entregue em", "read at": "lida em", "open the conversation": "abrir a conversa",
    "Download CSV (Excel)": "Baixar CSV (Excel)", "CSV in English (comma separated)": "CSV em inglês (separado por vírgulas)",
    "total": "total",
    # The API's messages (kumon/api_errors.py, scheduling/api.py, conversations/api.py).
    "Invalid input.": "Dados inválidos.", "Error.": "Erro.",
    "This field may not be null.": "Este campo não pode ser nulo.",
    "This field may not be blank.": "Este campo não pode ficar em branco.",
    "This field is required.": "Este campo é obrigatório.",
    "A valid integer is required.": "Informe um número inteiro válido.",
    "A valid number is required.": "Informe um número válido.",
    "Ensure this value is greater than or equal to {min_value}.": "O valor deve ser maior ou igual a {min_value}.",
    "Ensure this value is less than or equal to {max_value}.": "O valor deve ser menor ou igual a {max_value}.",
    "Datetime has wrong format. Use one of these formats instead: {format}.":
        "Data e hora em formato inválido. Use um destes formatos: {format}.",
    "Date has wrong format. Use one of these formats instead: {format}.":
        "Data em formato inválido. Use um destes formatos: {format}.",
    "JSON parse error - {detail}": "JSON inválido - {detail}",
    "Request was throttled.": "Muitas requisições seguidas: tente de novo daqui a pouco.",
    "Invalid data. Expected a dictionary, but got {datatype}.": "Dados inválidos: era esperado um objeto JSON, veio {datatype}.",
    "give both times with an offset, or neither": "informe os dois horários com fuso (offset), ou nenhum dos dois",
    "must be after from": "deve ser depois de from", "at most 62 days after from": "no máximo 62 dias depois de from",
    "Unit not found.": "Unidade não encontrada.", "Appointment not found.": "Agendamento não encontrado.",
    "send either start (reschedule) or status": "envie start (remarcar) ou status, não os dois",
    "No conversation for this phone.": "Nenhuma conversa com este telefone.",
    "This phone wrote to several of your units: choose one with ?unit=<slug>.":
        "Este telefone escreveu para várias das suas unidades: escolha uma com ?unit=<slug>.",
    "Not found.": "Não encontrado.", "Dates are YYYY-MM-DD.": "Datas no formato AAAA-MM-DD.",
    "No such unit.": "Unidade não encontrada.",
    "Comparing units is for their owners: choose one unit.": "Comparar unidades é para os proprietários: escolha uma unidade.",
    "period is day, week or month.": "period deve ser day, week ou month.",
    "from must be before to, at most 800 days apart.": "from deve ser antes de to, com no máximo 800 dias entre eles.",
    "Empty message.": "Mensagem vazia.", "Question and answer are required.": "Pergunta e resposta são obrigatórias.",
    "Gaps of several units.": "Perguntas de várias unidades.", "Unknown gaps.": "Perguntas desconhecidas.",
    "Only the franchise writes shared knowledge.": "Só a franquia escreve o conhecimento compartilhado.",
    # Django admin sentences around a model name, gender-neutral (kumon/admin_messages.py).
    "The {name} “{obj}” was added successfully.": "Inclusão salva: {name} “{obj}”.",
    "The {name} “{obj}” was added successfully. You may add another {name} below.":
        "Inclusão salva: {name} “{obj}”. Você pode incluir mais um registro abaixo.",
    "The {name} “{obj}” was changed successfully.": "Alteração salva: {name} “{obj}”.",
    "The {name} “{obj}” was changed successfully. You may edit it again below.":
        "Alteração salva: {name} “{obj}”. Você pode editar de novo abaixo.",
    "The {name} “{obj}” was changed successfully. You may add another {name} below.":
        "Alteração salva: {name} “{obj}”. Você pode incluir mais um registro abaixo.",
    "The %(name)s “%(obj)s” was deleted successfully.": "Exclusão feita: %(name)s “%(obj)s”.",
    "%(name)s with ID “%(key)s” doesn’t exist. Perhaps it was deleted?":
        "Não há %(name)s com ID “%(key)s”. Talvez tenha sido excluído(a).",
    "You may edit it again below.": "Você pode editar de novo abaixo.",
    "Added {name} “{object}”.": "Inclusão: {name} “{object}”.",
    "Changed {fields} for {name} “{object}”.": "Alteração de {fields} em {name} “{object}”.",
    "Deleted {name} “{object}”.": "Exclusão: {name} “{object}”.", "Added.": "Inclusão.",
    "Changed {fields}.": "Alteração de {fields}.",
    "Successfully deleted %(count)d %(items)s.": "Exclusão feita: %(count)d %(items)s.",
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
    # The knowledge test search: what a refusal and a match mean.
    "the message is empty": "a mensagem está vazia", "the message is too long": "a mensagem é longa demais",
    "the message has no readable text": "a mensagem não tem texto legível",
    "nothing in the knowledge matches": "nada no conhecimento corresponde",
    "a topic this unit has no entry for": "um assunto sem entrada nesta unidade", "not sure enough": "sem certeza suficiente",
    "an attempt to change the bot's rules": "uma tentativa de mudar as regras do robô",
    "a question about one student's record": "uma pergunta sobre os dados de um aluno",
    "it names another unit": "cita outra unidade", "it is about another school": "é sobre outra escola",
    "answer": "resposta", "part of the answer": "trecho da resposta",
}
PLURALS = {
    "asked %(n)s time": ("perguntada %(n)s vez", "perguntada %(n)s vezes"),
    "%(n)d minute": ("%(n)d minuto", "%(n)d minutos"),
    "%(first)s to %(last)s: no activity (%(n)s period)": ("%(first)s a %(last)s: sem movimento (%(n)s período)",
                                                          "%(first)s a %(last)s: sem movimento (%(n)s períodos)"),
    "%(n)d day": ("%(n)d dia", "%(n)d dias"),
    "%(n)d visit marked attended": ("%(n)d visita marcada como comparecida", "%(n)d visitas marcadas como comparecidas"),
    "%(n)d visit marked no-show": ("%(n)d visita marcada como falta", "%(n)d visitas marcadas como falta"),
    "%(n)d visit confirmed": ("%(n)d visita confirmada", "%(n)d visitas confirmadas"),
    "%(n)d visit cancelled": ("%(n)d visita cancelada", "%(n)d visitas canceladas"),
    "%(n)d visit queued for calendar sync": ("%(n)d visita na fila para sincronizar com a agenda",
                                             "%(n)d visitas na fila para sincronizar com a agenda"),
    "%(n)d reminder queued again": ("%(n)d lembrete na fila de novo", "%(n)d lembretes na fila de novo"),
    "%(count)s %(name)s was changed successfully.": ("Alteração salva: %(count)s %(name)s.",
                                                     "Alterações salvas: %(count)s %(name)s."),
    "%(n)d webhook secret rotated.": ("%(n)d segredo do webhook trocado.", "%(n)d segredos do webhook trocados."),
    "Access blocked after too many wrong passwords. Try again in %(minutes)s minute.": (
        "Acesso bloqueado depois de muitas senhas erradas. Tente de novo em %(minutes)s minuto.",
        "Acesso bloqueado depois de muitas senhas erradas. Tente de novo em %(minutes)s minutos."),
}
# Issue 15 (follow-ups, visit outcomes, funnel, proactive messages).
T.update({
    "follow-ups of a quiet family (0 = none)": "follow-ups de uma família que parou de responder (0 = nenhum)",
    "follow-up delays (hours after their last message)": "intervalos dos follow-ups (horas depois da última mensagem)",
    "Comma separated, e.g. 3,22. Only the first N are used.": "Separados por vírgula, ex.: 3,22. Só os N primeiros são usados.",
    "send from (local time)": "enviar a partir de (hora local)", "send until (local time)": "enviar até (hora local)",
    "days after a visit without enrolment to follow up (empty = off)":
        "dias depois de uma visita sem matrícula para o follow-up (vazio = desligado)",
    "follow-ups per day at most (WhatsApp number)": "máximo de follow-ups por dia (número de WhatsApp)",
    "Meta template name": "nome do modelo (template) da Meta", "Meta template language": "idioma do modelo da Meta",
    "Meta template parameters": "parâmetros do modelo da Meta",
    "The template's {{1}}, {{2}}… separated by |, from {parent_name}, {child_name}, {unit}, {text}.":
        "Os {{1}}, {{2}}… do modelo separados por |, com {parent_name}, {child_name}, {unit}, {text}.",
    "proactive messages": "mensagens ativas", "went quiet": "parou de responder",
    "after a visit without enrolment": "depois de uma visita sem matrícula", "number": "número",
    "their last message": "última mensagem da família", "their message": "mensagem da família",
    "follow-up": "follow-up", "follow-ups": "follow-ups", "cancelled by": "cancelado por",
    "appointment id": "id do agendamento", "Cancel (pending only)": "Cancelar (só os pendentes)",
    "WhatsApp": "WhatsApp",
    "the family wrote again": "a família escreveu de novo", "the family opted out": "a família pediu para não receber mensagens",
    "staff have the conversation": "a equipe está com a conversa", "conversation closed": "conversa encerrada",
    "visit booked": "visita agendada", "nothing left to follow up": "nada pendente para retomar",
    "cancelled by staff": "cancelado pela equipe", "no send window in the next 3 weeks": "nenhum horário de envio nas próximas 3 semanas",
    "waiting for the send window": "aguardando o horário de envio",
    "the unit's daily cap was reached: tomorrow": "limite diário da unidade atingido: amanhã",
    "the family enrolled": "a família se matriculou", "after the previous follow-up": "depois do follow-up anterior",
    "order": "ordem", "reason for not enrolling": "motivo de não matrícula",
    "reasons for not enrolling": "motivos de não matrícula", "enrolled": "matriculou", "did not enrol": "não matriculou",
    "outcome": "resultado", "starts on": "começa em", "note": "observação", "recorded by": "registrado por",
    "recorded at": "registrado em", "visit outcome": "resultado da visita", "visit outcomes": "resultados das visitas",
    "price": "preço", "schedule": "horário", "distance": "distância", "child's age": "idade da criança",
    "chose another school": "escolheu outra escola", "Unknown outcome.": "Resultado desconhecido.",
    "An enrolment has no reason for not enrolling.": "Uma matrícula não tem motivo de não matrícula.",
    "Choose why the family did not enrol.": "Escolha por que a família não se matriculou.",
    "That reason belongs to another unit.": "Esse motivo é de outra unidade.",
    "Only a visit that took place has an outcome.": "Só uma visita que aconteceu tem resultado.",
    "Funnel by cohort": "Funil por coorte", "First seen": "Primeiro contato",
    "Families (contacts) whose first message to the unit is in the period: the cohort. Every line below follows these families, whenever the later step happened.":
        "Famílias (contatos) cuja primeira mensagem à unidade está no período: a coorte. Cada linha abaixo acompanha essas famílias, quando quer que a etapa seguinte tenha acontecido.",
    "Qualified": "Qualificadas",
    "Families of the cohort whose child's age or school year and subject are known, who were offered visit times, or who booked a visit.":
        "Famílias da coorte das quais se sabe a idade ou o ano escolar da criança e a matéria, que receberam horários de visita ou que agendaram uma visita.",
    "Visit booked": "Visita agendada",
    "Families of the cohort with a first visit booked (chat, staff or API), whatever its later status.":
        "Famílias da coorte com uma primeira visita agendada (chat, equipe ou API), qualquer que seja a situação depois.",
    "Families of the cohort with a visit marked attended.": "Famílias da coorte com uma visita marcada como comparecida.",
    "Enrolled": "Matriculadas",
    "Families of the cohort whose visit outcome is \"enrolled\".": "Famílias da coorte cujo resultado da visita é \"matriculou\".",
    "First seen → qualified": "Primeiro contato → qualificada", "Qualified ÷ first seen.": "Qualificadas ÷ primeiro contato.",
    "Qualified → booked": "Qualificada → agendada", "Visit booked ÷ qualified.": "Visita agendada ÷ qualificadas.",
    "Booked → attended": "Agendada → compareceu", "Attended ÷ visit booked.": "Compareceram ÷ visita agendada.",
    "Attended → enrolled": "Compareceu → matriculou", "Enrolled ÷ attended.": "Matriculadas ÷ compareceram.",
    "First seen → enrolled": "Primeiro contato → matriculou", "Enrolled ÷ first seen.": "Matriculadas ÷ primeiro contato.",
    "Median time to qualified": "Tempo mediano até qualificar",
    "From the first message to the first offer of visit times (or the booking, if earlier).":
        "Da primeira mensagem à primeira oferta de horários de visita (ou ao agendamento, se antes).",
    "Median time qualified → booked": "Tempo mediano qualificada → agendada",
    "From qualified (as above) to the first booking.": "De qualificada (como acima) ao primeiro agendamento.",
    "Median time booked → attended": "Tempo mediano agendada → compareceu",
    "From the booking to the start of the attended visit.": "Do agendamento ao início da visita comparecida.",
    "Median time attended → enrolled": "Tempo mediano compareceu → matriculou",
    "From the attended visit's start to when the enrolment was recorded.": "Do início da visita comparecida ao registro da matrícula.",
    "First response p50": "Primeira resposta p50",
    "Median time from a new family's first message to the first answer (bot or staff), at any hour: nights and weekends count.":
        "Tempo mediano entre a primeira mensagem de uma nova família e a primeira resposta (robô ou equipe), a qualquer hora: noites e fins de semana contam.",
    "First response p50, bot": "Primeira resposta p50, robô",
    "The same, for families answered first by the bot.": "O mesmo, para famílias respondidas primeiro pelo robô.",
    "First response p50, staff": "Primeira resposta p50, equipe",
    "The same, for families answered first by staff.": "O mesmo, para famílias respondidas primeiro pela equipe.",
    "First response p50, nights and weekends": "Primeira resposta p50, noites e fins de semana",
    "The same, for first messages sent before 08:00, from 20:00, on Saturday or on Sunday (unit's time).":
        "O mesmo, para primeiras mensagens enviadas antes das 08:00, a partir das 20:00, no sábado ou no domingo (hora da unidade).",
    "Did not enrol": "Não matricularam",
    "Families of the cohort whose visit outcome is \"did not enrol\"; their reasons are counted below.":
        "Famílias da coorte cujo resultado da visita é \"não matriculou\"; os motivos estão contados abaixo.",
    "all": "todas", "not told": "não informado", "families": "famílias", "First seen from": "Primeiro contato de",
    "Families first seen from %(start)s to %(end)s": "Famílias com primeiro contato de %(start)s a %(end)s",
    "By source (how they heard of us)": "Por origem (como conheceram)", "No families in the period.": "Nenhuma família no período.",
    "Why families did not enrol": "Por que as famílias não se matricularam",
    "No visit outcome recorded as not enrolled.": "Nenhum resultado de visita registrado como não matriculou.",
    "Cohort": "Coorte",
    "Dates in the São Paulo time zone. A family belongs to the period of its first message; its later steps count here even when they happen after the period, so recent cohorts are still filling up. Simulator contacts and the unit's own staff phone are left out.":
        "Datas no fuso de São Paulo. Uma família pertence ao período da sua primeira mensagem; as etapas seguintes contam aqui mesmo quando acontecem depois do período, então as coortes recentes ainda estão se completando. Contatos do simulador e o telefone da equipe da unidade ficam de fora.",
    "Outcome: enrolled": "Resultado: matriculou", "on the unit's phone": "no celular da unidade",
    "paused: staff are talking with the family": "pausado: a equipe está conversando com a família",
    "WhatsApp: outside the 24-hour window and no template configured":
        "WhatsApp: fora da janela de 24 horas e sem modelo (template) configurado", "Outcome: did not enrol (reason beside)": "Resultado: não matriculou (motivo ao lado)",
})
PLURALS.update({
    "%(n)d visit outcome recorded": ("%(n)d resultado de visita registrado", "%(n)d resultados de visita registrados"),
})
PLURALS.update({
    "%(n)d follow-up cancelled": ("%(n)d follow-up cancelado", "%(n)d follow-ups cancelados"),
})
# Entries with a context (pgettext): the same English word means two things on the pages.
CONTEXT: dict[tuple[str, str], str] = {
    ("Brazilian state (UF)", "state"): "Estado (UF)",
    ("lead data", "parent"): "responsável",
    ("conversation stage", "new"): "nova",
    ("conversation stage", "getting to know the family"): "conhecendo a família",
    ("conversation stage", "booking a visit"): "agendando visita",
    ("conversation stage", "moving the visit"): "remarcando visita",
    ("conversation stage", "visit booked"): "visita agendada",
    ("conversation stage", "visit cancelled"): "visita cancelada",
    ("conversation stage", "passed to staff"): "passada para a equipe",
    ("conversation stage", "opted out"): "descadastrada",
    ("conversation step", "offered a visit"): "ofereceu uma visita",
    ("conversation step", "asked the child's name"): "perguntou o nome da criança",
    ("conversation step", "asked the child's age"): "perguntou a idade da criança",
    ("conversation step", "asked the subject"): "perguntou a matéria",
    ("conversation step", "asked the parent's name"): "perguntou o nome do responsável",
    ("conversation step", "offered times"): "ofereceu horários",
    ("conversation step", "waiting to confirm the time"): "aguardando confirmar o horário",
    ("conversation step", "waiting to confirm the cancellation"): "aguardando confirmar o cancelamento",
    ("conversation step", "offered a new time"): "ofereceu novo horário",
    ("conversation step", "visit booked"): "visita agendada",
    ("conversation step", "asked whether to move the visit"): "perguntou se quer remarcar a visita",
    ("conversation step", "asked which question was meant"): "perguntou qual era a dúvida",
    ("hand-off reason", "the family asked for a person"): "a família pediu para falar com uma pessoa",
    ("hand-off reason", "complaint"): "reclamação",
    ("hand-off reason", "the calendar could not be read"): "não foi possível ler a agenda",
    ("hand-off reason", "change too close to the visit"): "alteração muito perto da visita",
    ("hand-off reason", "no free times"): "sem horários livres",
    ("hand-off reason", "many messages at once"): "muitas mensagens de uma vez",
    ("hand-off reason", "a question the bot could not answer"): "pergunta que o robô não soube responder",
    ("hand-off reason", "taken over by staff"): "assumida pela equipe",
    ("hand-off reason", "staff answered on the unit's phone"): "a equipe respondeu pelo celular da unidade",
}
CONTEXT_PLURALS: dict[tuple[str, str], tuple[str, str]] = {}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _unquote(lines: str) -> str:
    return "".join(re.findall(r'"(.*)"', lines)).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def _field(entry: str, name: str) -> str | None:
    match = re.search(rf"^{re.escape(name)} ((?:\".*\"\n)+)", entry + "\n", re.M)
    return _unquote(match.group(1)) if match else None


def _translation(entry: str) -> tuple[str, ...] | None:
    msgid = _field(entry, "msgid")
    if not msgid:
        return None
    context = _field(entry, "msgctxt")
    plural = _field(entry, "msgid_plural") is not None
    if context is not None:
        found = CONTEXT_PLURALS.get((context, msgid)) if plural else CONTEXT.get((context, msgid))
    else:
        found = PLURALS.get(msgid) if plural else T.get(msgid)
    if found is None:
        return None
    return tuple(found) if plural else (found,)


def fill(text: str) -> str:
    """Fill the empty msgstr of entries the tables know; a fuzzy guess of msgmerge whose msgid the
    tables know is replaced and unflagged (the table is the checked translation)."""
    out = []
    for entry in text.split("\n\n"):
        if entry.lstrip().startswith("#~"):
            out.append(entry)
            continue
        found = _translation(entry)
        fuzzy = re.search(r"^#, .*fuzzy", entry, re.M) is not None
        empty = re.search(r'^msgstr(\[0\])? ""\n?(?!")', entry + "\n", re.M) is not None
        if found is not None and (empty or fuzzy):
            entry = re.sub(r"^#\| .*\n?", "", entry, flags=re.M)
            entry = re.sub(r"^#, (.*)$", lambda m: _without_fuzzy(m.group(1)), entry, flags=re.M)
            entry = re.sub(r"^msgstr.*(?:\n\".*\")*", "", entry, flags=re.M).rstrip("\n")
            if len(found) == 1:
                entry += "\nmsgstr " + _quote(found[0])
            else:
                entry += "".join(f"\nmsgstr[{i}] {_quote(t)}" for i, t in enumerate(found))
            entry = re.sub(r"\n{2,}", "\n", entry).strip("\n")
        out.append(entry)
    return "\n\n".join(out)


def _without_fuzzy(flags: str) -> str:
    kept = [f.strip() for f in flags.split(",") if f.strip() != "fuzzy"]
    return f"#, {', '.join(kept)}" if kept else ""


def header(text: str) -> str:
    text = text.replace("# SOME DESCRIPTIVE TITLE.", "# Kumon Receptionist – Português (Brasil).", 1)
    text = text.replace("#, fuzzy\nmsgid \"\"", "msgid \"\"", 1)
    return text.replace('"Language: \\n"', '"Language: pt_BR\\n"', 1)


if __name__ == "__main__":
    PO.write_text(fill(header(PO.read_text())))
