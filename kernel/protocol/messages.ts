/**
 * The Jupyter messaging protocol (5.3) as one table: {@link ContentByType} maps every msg_type
 * the kernel sends or receives to its content. Everything else (message types, handler maps,
 * which socket a request arrives on) is derived from it, so a new message is one entry here.
 */
import {
  dispatch,
  type Handlers,
  replyTypeFor,
  type TableMessage,
  type TypeOf,
} from "../../engines/wire/protocol/message-table.js";
import type { MimeBundle } from "../../engines/wire/values/mime-bundle.js";

/** Every reply carries a status; errors add Jupyter's ename/evalue/traceback. */
export type ReplyStatus = "ok" | "error" | "aborted";

/** The error part of a reply or an `error` IOPub message. */
export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** A reply whose status is error: the fields of the ok variant are not there. */
export type ErrorReply = { status: "error" } & ErrorContent;

/** Display metadata: per-MIME-type options (width, height, isolated…). */
export type DisplayMetadata = Record<string, unknown>;

/** Transient fields are not stored in the notebook; display_id is the only one we use. */
export interface Transient {
  display_id?: string;
}

/** Entries of a history reply: [session, line, input] or [session, line, [input, output]]. */
export type HistoryEntry = [number, number, string] | [number, number, [string, string | null]];

/** A pager payload or another execute_reply payload. */
export interface Payload {
  source: string;
  [field: string]: unknown;
}

export interface ExecuteRequest {
  code: string;
  silent?: boolean;
  store_history?: boolean;
  user_expressions?: Record<string, string>;
  allow_stdin?: boolean;
  stop_on_error?: boolean;
}

export type ExecuteReply =
  | {
      status: "ok";
      execution_count: number;
      payload: Payload[];
      user_expressions: Record<string, unknown>;
    }
  | (ErrorReply & {
      execution_count: number;
      payload?: Payload[];
      user_expressions?: Record<string, unknown>;
    })
  | { status: "aborted"; execution_count: number };

export interface InspectRequest {
  code: string;
  cursor_pos: number;
  detail_level?: 0 | 1;
}

export interface InspectReply {
  status: "ok";
  found: boolean;
  data: MimeBundle;
  metadata: Record<string, unknown>;
}

export interface CompleteRequest {
  code: string;
  cursor_pos: number;
}

export interface CompleteReply {
  status: "ok";
  matches: string[];
  cursor_start: number;
  cursor_end: number;
  metadata: Record<string, unknown>;
}

export interface HistoryRequest {
  output?: boolean;
  raw?: boolean;
  hist_access_type: "range" | "tail" | "search";
  session?: number;
  start?: number;
  stop?: number;
  n?: number;
  pattern?: string;
  unique?: boolean;
}

export interface HistoryReply {
  status: "ok";
  history: HistoryEntry[];
}

export interface IsCompleteRequest {
  code: string;
}

export interface IsCompleteReply {
  status: "complete" | "incomplete" | "invalid" | "unknown";
  indent?: string;
}

export interface LanguageInfo {
  name: string;
  version: string;
  mimetype: string;
  file_extension: string;
  codemirror_mode: string | Record<string, unknown>;
  pygments_lexer: string;
  nbconvert_exporter: string;
}

export interface KernelInfoReply {
  status: "ok";
  protocol_version: string;
  implementation: string;
  implementation_version: string;
  language_info: LanguageInfo;
  banner: string;
  help_links: { text: string; url: string }[];
  debugger: boolean;
}

export interface ShutdownRequest {
  restart?: boolean;
}

export interface ShutdownReply {
  status: "ok";
  restart: boolean;
}

export interface CommOpen {
  comm_id: string;
  target_name: string;
  data: Record<string, unknown>;
  target_module?: string;
}

export interface CommMsg {
  comm_id: string;
  data: Record<string, unknown>;
}

export interface CommClose {
  comm_id: string;
  data: Record<string, unknown>;
}

export interface CommInfoRequest {
  target_name?: string;
}

export interface CommInfoReply {
  status: "ok";
  comms: Record<string, { target_name: string }>;
}

export interface Stream {
  name: "stdout" | "stderr";
  text: string;
}

export interface DisplayData {
  data: MimeBundle;
  metadata: DisplayMetadata;
  transient?: Transient;
}

export interface ExecuteResult extends DisplayData {
  execution_count: number;
}

export interface Status {
  execution_state: "busy" | "idle" | "starting";
}

export interface InputRequest {
  prompt: string;
  password: boolean;
}

export interface InputReply {
  value: string;
}

/** Every message the kernel knows, by msg_type. */
export interface ContentByType {
  // shell
  execute_request: ExecuteRequest;
  execute_reply: ExecuteReply;
  inspect_request: InspectRequest;
  inspect_reply: InspectReply;
  complete_request: CompleteRequest;
  complete_reply: CompleteReply;
  history_request: HistoryRequest;
  history_reply: HistoryReply;
  is_complete_request: IsCompleteRequest;
  is_complete_reply: IsCompleteReply;
  comm_info_request: CommInfoRequest;
  comm_info_reply: CommInfoReply;
  kernel_info_request: Record<string, never>;
  kernel_info_reply: KernelInfoReply;
  // control (kernel_info and shutdown also arrive here)
  shutdown_request: ShutdownRequest;
  shutdown_reply: ShutdownReply;
  interrupt_request: Record<string, never>;
  interrupt_reply: { status: "ok" };
  // comms, both directions (shell from the frontend, iopub from the kernel)
  comm_open: CommOpen;
  comm_msg: CommMsg;
  comm_close: CommClose;
  // iopub
  status: Status;
  stream: Stream;
  display_data: DisplayData;
  update_display_data: DisplayData;
  execute_input: { code: string; execution_count: number };
  execute_result: ExecuteResult;
  error: ErrorContent;
  clear_output: { wait: boolean };
  // stdin
  input_request: InputRequest;
  input_reply: InputReply;
}

/** Any msg_type in the table. */
export type MsgType = TypeOf<ContentByType>;

/** A decoded message whose content is typed by its msg_type. */
export type Message<T extends MsgType = MsgType> = TableMessage<ContentByType, T>;

/** Messages the frontend sends on the shell socket. */
export const SHELL_REQUESTS = [
  "execute_request",
  "inspect_request",
  "complete_request",
  "history_request",
  "is_complete_request",
  "comm_info_request",
  "kernel_info_request",
  "shutdown_request",
  "comm_open",
  "comm_msg",
  "comm_close",
] as const satisfies readonly MsgType[];

/** Messages the frontend sends on the control socket. */
export const CONTROL_REQUESTS = [
  "shutdown_request",
  "interrupt_request",
  "kernel_info_request",
] as const satisfies readonly MsgType[];

export type ShellRequestType = (typeof SHELL_REQUESTS)[number];
export type ControlRequestType = (typeof CONTROL_REQUESTS)[number];

/**
 * A handler for every type of `K` (leaving one out is a compile error); handlers may be async.
 * See engines/wire/protocol/message-table.ts, which the cluster protocol shares.
 */
export type HandlerMap<K extends MsgType> = Handlers<ContentByType, K, void, void | Promise<void>>;

export { dispatch, replyTypeFor };
