package probe

// StartProbe lets the external tests start a probe container the way Run
// does, without the removal Run defers (a run that was killed).
var StartProbe = startProbe
