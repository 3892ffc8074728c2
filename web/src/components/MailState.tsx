// What became of an invitation's e-mail, as the API's "mail" field says:
// sent, queued / retrying (not sent yet), failed, or not_sent (no mail
// server: the link must be passed on by hand).

const LABEL: Record<string, { text: string; tone: string; hint: string }> = {
	sent: { text: 'Mailed', tone: 'ok', hint: 'The invitation e-mail was delivered to the mail server.' },
	queued: { text: 'Not sent yet', tone: 'wait', hint: 'The e-mail is waiting to be sent.' },
	retrying: { text: 'Not sent yet (retrying)', tone: 'wait', hint: 'The mail server could not be reached; IAM keeps trying. You can also copy a new link and send it yourself.' },
	failed: { text: 'Mail failed', tone: 'bad', hint: 'The e-mail could not be sent. Make a new link and send it yourself.' },
	not_sent: { text: 'Not mailed', tone: 'muted', hint: 'This server sends no e-mail: the invitee gets the link from you.' },
};

export function MailState({ state }: { state?: string }) {
	const l = LABEL[state || 'not_sent'] || LABEL.not_sent;
	return (
		<span className={`mail-state mail-state--${l.tone}`} title={l.hint} data-mail-state={state || 'not_sent'}>
			{l.text}
		</span>
	);
}
