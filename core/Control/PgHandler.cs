using System.Collections.Generic;
using Kernel.PgWire;

namespace Kernel.Control;

/// <summary>Creates a <see cref="Session"/> per pgwire connection and routes cancel requests to the session they name.</summary>
public sealed class PgHandler(Coordinator coordinator) : IPgServerHandler
{
    public PgSessionStart StartSession(IReadOnlyDictionary<string, string> startupParameters, int processId, int secretKey) =>
        PgSessionStart.Started(new Session(coordinator, startupParameters));

    // The pgwire server cancels the running statement of the session with this key itself; nothing to add here.
    public void Cancel(int processId, int secretKey)
    {
    }
}
