//! `sft`: TRL's conversational format. The system prompt, the task's prompt, then each
//! assistant turn (`<Analyze>`, `<Understand>`, `<Code>`, `<Answer>` blocks) followed by its
//! code output as role `execute` (DeepAnalyze's chat template), `user` or `tool`.

use super::*;
use dasynth_core::config::ExecuteRole;
use dasynth_core::export::SftRow;
use dasynth_core::trajectory::Message;

pub fn schema() -> Schema {
    let mut fields = vec![field("messages", messages())];
    fields.extend(meta_fields());
    Schema::from_iter(fields)
}

pub fn row(t: &Trajectory, meta: RowMeta, execute_role: ExecuteRole) -> SftRow {
    let messages = t
        .messages
        .iter()
        .map(|m| if m.role == "execute" { Message::new(execute_role.name(), m.content.clone()) } else { m.clone() })
        .collect();
    SftRow { messages, meta }
}
