import { transportKinds, transportLabels } from "../lib/transport.ts";
import { useTransportChoice } from "../lib/transport-context.tsx";

/** Connect / gRPC-Web radio group; the choice is remembered and used by every call. */
export function TransportSwitch() {
  const { kind, setKind } = useTransportChoice();
  return (
    <fieldset className="segmented" aria-label="Protocol">
      <legend className="sr-only">Protocol used by every call</legend>
      {transportKinds.map((k) => (
        <label key={k} className={k === kind ? "active" : undefined}>
          <input
            type="radio"
            name="transport"
            value={k}
            checked={k === kind}
            onChange={() => setKind(k)}
          />
          {transportLabels[k]}
        </label>
      ))}
    </fieldset>
  );
}
