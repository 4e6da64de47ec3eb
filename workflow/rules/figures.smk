# Stage 4: figures and report (filled in by the figures stage).


def figure_outputs(name):
    """The figure files of campaign ``name`` that `rule all` asks for."""
    return []
