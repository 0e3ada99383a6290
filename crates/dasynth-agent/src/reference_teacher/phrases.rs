//! The reference teacher's wording: for each thing it says, several real alternatives, one drawn
//! per trajectory, so two trajectories of one template do not read alike. Placeholders in braces
//! are filled by [`fill`]; none of these texts states a number of its own.

use dasynth_core::rng::Rng;

/// Draws one alternative.
pub(super) fn pick<'a>(rng: &mut Rng, pool: &[&'a str]) -> &'a str {
    pool[rng.below(pool.len() as u64) as usize]
}

/// Replaces `{name}` placeholders.
pub(super) fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (k, v) in values {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// The opening plan. `{columns}`, `{files}`.
pub(super) const PLAN: &[&str] = &[
    "The question is about {columns} in {files}. Before computing anything I want to see how the data was read: how many rows there are, which types these columns got and whether values are missing.",
    "I will start by loading {files} and looking at {columns}: their types, how many values are missing and a few example rows. That tells me whether the data needs any preparation before the calculation.",
    "First I need to know what {files} holds. I'll load it, check the shape, and inspect {columns}, the columns this question depends on, for types and missing values.",
    "To answer this I only need {columns}. Loading {files} and printing the shape, the dtypes and the missing counts of those columns is the quickest way to spot surprises before the real work.",
    "Let me look at the data first rather than computing straight away: load {files}, confirm that {columns} exist, and see how they are typed and how complete they are.",
    "My plan: open {files}, inspect {columns} (types, missing values, a few rows), then compute the result and check that it is plausible.",
];

/// After the first look, before the computation. `{step}` names the next step.
pub(super) const AFTER_LOOK: &[&str] = &[
    "The data looks usable as read, so I can move on to the computation.",
    "Nothing in the overview stops me; the types are what the calculation needs. Next comes the computation itself.",
    "With the shape and the missing values known, I can compute the result now.",
    "The columns are there and typed sensibly. I'll go ahead with the calculation.",
    "Good, the table is loaded and I know what to expect from these columns. Now the actual analysis.",
];

/// Between two computation steps.
pub(super) const NEXT_STEP: &[&str] = &[
    "That intermediate result looks reasonable; I'll build on it for the next step.",
    "The previous step ran cleanly. Continuing with the next part of the calculation.",
    "This is the input the final step needs, so I'll carry on.",
    "The output matches what I expected at this stage. Next step.",
];

/// Before the final computation step.
pub(super) const FINAL_STEP: &[&str] = &[
    "Now I can compute the value the question asks for and print it.",
    "The last step is the result itself; I'll print it so I can read it off.",
    "Everything needed is in place, so I compute the answer and show it.",
];

/// How an output is introduced in `<Understand>`. `{output}` is quoted output.
pub(super) const OUTPUT_LEAD: &[&str] =
    &["The output reads: {output}", "The cell printed {output}", "From the output: {output}", "It shows {output}"];

/// Before a sanity check.
pub(super) const CHECK: &[&str] = &[
    "Before answering I want a quick sanity check of this result.",
    "Let me verify the result against the data before I report it.",
    "A result is only useful if it is plausible, so I'll check it once more.",
    "I'll double-check the number with a simple independent look at the data.",
];

/// Before the answer.
pub(super) const WRAP_UP: &[&str] = &[
    "The computation and the check agree, so I can give the answer.",
    "I have the result and it holds up, so here is the answer.",
    "That settles it; I'll state the result.",
    "The result is consistent with what the data showed earlier. Answering now.",
];

/// Before the answer when no check was run.
pub(super) const WRAP_UP_UNCHECKED: &[&str] = &[
    "The printed result is what the question asks for, so I can answer.",
    "That is the result; I'll write it up.",
    "The output gives the answer directly.",
];

/// After a `KeyError` from a column name with the wrong case. `{wrong}`.
pub(super) const AFTER_KEY_ERROR: &[&str] = &[
    "The cell failed with a KeyError: there is no column named `{wrong}`. Column names are case-sensitive, so I'll print the real names and use them exactly as they are written.",
    "KeyError: `{wrong}` is not a column. I guessed the letter case of the name; listing the columns will show the exact spelling.",
    "My column name was wrong: pandas says `{wrong}` does not exist. Let me print the column names and retry with the exact spelling.",
];

/// After `.dt` on a column that is still text. `{column}`.
pub(super) const AFTER_DT_ERROR: &[&str] = &[
    "The `.dt` accessor failed: `{column}` was read as text, not as dates. pandas does not parse dates on its own here, so I convert the column with `pd.to_datetime` and the format its values use.",
    "That error means `{column}` is still a string column. I need to parse it into datetimes first, with an explicit format so that every value is read the same way.",
    "`{column}` came in as plain text, which is why `.dt` is not available. Parsing it with `pd.to_datetime` fixes that.",
];

/// Before a mean of all involved columns (the text-as-number mistake).
pub(super) const TRY_MEANS: &[&str] = &[
    "A quick look at the averages of these columns will tell me their scale.",
    "Let me get the means of the columns involved to see their typical values.",
];

/// After the means failed on a text column. `{column}`.
pub(super) const AFTER_TYPE_ERROR: &[&str] = &[
    "That failed: `{column}` holds text, and text has no mean. I'll restrict the summary to the numeric columns.",
    "The TypeError comes from `{column}`, which is a string column. Only the numeric columns can be averaged, so I select those.",
    "I treated `{column}` as a number, but it is text. Averaging only the numeric columns instead.",
];
