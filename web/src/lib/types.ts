// Shapes of the IAM API (README "The API at a glance").

export interface Organization {
	id: string;
	name: string;
	role: string;
}

export interface User {
	id: string;
	email: string;
	/** the address was confirmed (a mail link, or a provider that vouches for it) */
	email_verified?: boolean;
	first_name: string | null;
	last_name: string | null;
	company_name: string | null;
	created_at: string;
	updated_at: string;
	organization?: Organization;
}

export interface TokenResponse {
	access_token: string;
	refresh_token: string;
	token_type: string;
	expires_in: number;
	user?: User;
	organization?: Organization;
}

export type MeetingStatus = 'pending' | 'uploaded' | 'queued' | 'processing' | 'completed' | 'failed';

export interface Meeting {
	id: string;
	title: string;
	description: string | null;
	meeting_date: string | null;
	status: MeetingStatus;
	progress: number;
	language: string;
	audio_format: string | null;
	audio_codec: string | null;
	original_filename: string | null;
	file_size: number | null;
	duration_seconds: number | null;
	provider_used: string | null;
	model_used: string | null;
	transcription_confidence: number | null;
	processing_started_at: string | null;
	processing_completed_at: string | null;
	processing_error: string | null;
	processing_steps: unknown[];
	created_at: string;
	updated_at: string;
	/** What the caller may do with it (GET /meetings/{id} only). */
	permissions?: MeetingPermissions;
}

export interface MeetingPermissions {
	edit_transcript: boolean;
	rename: boolean;
	upload: boolean;
	transcribe: boolean;
	share: boolean;
	delete: boolean;
}

export interface Page<T> {
	data: T[];
	next_cursor: string | null;
}

export interface Word {
	word: string;
	start: number;
	end: number;
	confidence: number;
	speaker?: string | null;
}

export interface Segment {
	id: number | string;
	start: number;
	end: number;
	text: string;
	confidence: number;
	words: Word[];
	/** the speaker's id ("S1"), null when unknown or the transcript has no speakers */
	speaker?: string | null;
	/** changed by hand since the machine wrote it */
	edited?: boolean;
}

export interface Speaker {
	/** "S1", "S2", ... */
	id: string;
	/** "Speaker 1" */
	label: string;
	/** a name given by hand, or null */
	name: string | null;
	talk_time_s: number;
}

export interface Transcript {
	meeting_id: string;
	language: string;
	text: string;
	duration: number;
	provider: string;
	model: string;
	confidence: number;
	segments: Segment[];
	speakers?: Speaker[];
	/** the revision this text is (the ETag is "t<version>") */
	version?: number;
	updated_at?: string;
	/** set when an older text was asked for (?version=original or a number) */
	version_shown?: 'original' | 'revision';
	/** false when the caller may only read it (no edits are offered) */
	can_edit?: boolean;
}

export type RevisionAction = 'transcribed' | 'edit_segment' | 'rename_speaker' | 'merge_speakers' | 'restore';

export interface Revision {
	version: number;
	action: RevisionAction | string;
	author: { id: string; email: string } | null;
	summary: Record<string, unknown>;
	created_at: string;
}

export interface RevisionWithTranscript extends Revision {
	transcript: Transcript;
}

export interface StatusEvent {
	id: string;
	status: MeetingStatus;
	progress: number;
	processing_error: string | null;
}

export interface ApiKey {
	id: string;
	name: string;
	prefix: string;
	created_at: string;
	last_used_at: string | null;
	key?: string;
}
