/**
 * A value to copy (a new key, a signing secret, a request id): a read-only textbox named by its
 * label and a Copy button. The clipboard API needs a secure context (https or localhost); elsewhere
 * the text is selected and copied the old way, and left selected for Ctrl+C if that fails too.
 */
import { useId, useRef, useState } from 'preact/hooks'

export function CopyField({ label, value, hint }: { label: string; value: string; hint?: string }) {
  const id = useId()
  const input = useRef<HTMLInputElement>(null)
  const [copied, setCopied] = useState<string>('')

  async function copy() {
    let done = false
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(value)
        done = true
      }
    } catch {
      done = false
    }
    if (!done && input.current) {
      input.current.focus()
      input.current.select()
      done = document.execCommand?.('copy') ?? false
    }
    setCopied(done ? `${label} copied` : 'Press Ctrl+C (⌘C) to copy the selected text')
  }

  return (
    <div class="copy-field">
      <label for={id}>{label}</label>
      <div class="copy-row">
        <input
          id={id}
          ref={input}
          type="text"
          readOnly
          value={value}
          spellcheck={false}
          autocomplete="off"
          aria-describedby={hint ? `${id}-hint` : undefined}
          onFocus={(event) => event.currentTarget.select()}
        />
        <button type="button" class="secondary" onClick={copy}>
          Copy
        </button>
      </div>
      {hint && (
        <p id={`${id}-hint`} class="hint">
          {hint}
        </p>
      )}
      <p class="copied" role="status">
        {copied}
      </p>
    </div>
  )
}
