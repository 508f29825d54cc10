//! How long the texts people write may be: the server refuses longer ones (422) and the
//! app's fields stop there, from these same numbers. Counted in characters, not bytes.

/// A note on an alert, a task, a check-in or a case step.
pub const NOTE_CHARS: usize = 2_000;
/// A case's title, and a photo's caption.
pub const CASE_TITLE_CHARS: usize = 200;
/// A case's description, and a note on a case's step.
pub const CASE_TEXT_CHARS: usize = 4_000;
/// A notice's title.
pub const NOTICE_TITLE_CHARS: usize = 100;
/// A notice's text.
pub const NOTICE_BODY_CHARS: usize = 2_000;
/// Why a patrol missed checkpoints.
pub const MISSED_REASON_CHARS: usize = 200;
