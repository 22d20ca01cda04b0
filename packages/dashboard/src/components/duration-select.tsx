/** A labelled choice of how long something lasts (a grace period, an overlap), in seconds, with its hint. */
export function DurationSelect({ id, label, hint, options, value, onChange }: { id: string; label: string; hint: string; options: readonly { seconds: number; label: string }[]; value: number; onChange: (seconds: number) => void }) {
  return (
    <>
      <label for={id}>{label}</label>
      <select id={id} value={String(value)} onChange={(event) => onChange(Number(event.currentTarget.value))} aria-describedby={`${id}-hint`}>
        {options.map((option) => (
          <option key={option.seconds} value={String(option.seconds)}>
            {option.label}
          </option>
        ))}
      </select>
      <p id={`${id}-hint`} class="hint">
        {hint}
      </p>
    </>
  )
}
