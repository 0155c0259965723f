"""Field vocabularies of the demo corpus: what each scientific field talks about and draws.

Every field lists its topics, methods, subjects (materials, organisms, objects), conditions,
quantities and the figure templates it favours, so titles, abstracts, captions *and the text
drawn inside the figures* are semantically tied to the field.

The raw tables are compact strings: items are separated by ``|``, the parts of a structured
item by ``;``, and a quantity is written ``name [unit]``. An item ending in ``@YEAR`` is a
*dated term*: it only exists from that year on (``transformer@2018``), which gives the corpus
its time trends. :func:`load_fields` parses the tables once into :class:`FieldVocab` objects.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

FIRST_YEAR, LAST_YEAR = 2005, 2024

FIGURE_KINDS = ("line", "bar", "scatter", "heatmap", "diagram", "histogram", "spectrum", "micrograph")

# Per field: figure-kind weights (the field's favourite kinds, never exclusive), yearly growth
# of the field's output, and an optional surge (from year, factor) such as epidemiology in 2020.
_RAW: dict[str, dict[str, str]] = {
    "materials science": dict(
        kinds="micrograph 3, spectrum 3, line 2, histogram 1, bar 1, scatter 1, heatmap 0.6, diagram 0.5",
        growth="0.03", surge="",
        topics="grain boundary engineering|phase stability|fatigue crack growth|thin-film growth|corrosion resistance|"
        "thermal transport|defect chemistry|ferroelectric domain switching|superconducting thin films|"
        "nanoporous metals|high-entropy alloy design@2010|additive manufacturing of metals@2013|"
        "2D van der Waals heterostructures@2014|halide perovskite stability@2014|solid-state electrolytes@2016",
        methods="X-ray diffraction|scanning electron microscopy|transmission electron microscopy|"
        "density functional theory|nanoindentation|differential scanning calorimetry|atomic force microscopy|"
        "Raman spectroscopy|molecular dynamics|phase-field modelling|electron backscatter diffraction|"
        "machine-learned interatomic potentials@2018|4D-STEM@2019|in situ synchrotron tomography@2012",
        subjects="Ti-6Al-4V alloy|316L stainless steel|graphene|zinc oxide nanowires|LiFePO4 cathodes|"
        "Ni-based superalloys|YBa2Cu3O7 films|barium titanate ceramics|amorphous silica|copper nanoparticles|"
        "gallium nitride|MoS2 monolayers@2012|CoCrFeMnNi high-entropy alloy@2010|"
        "methylammonium lead iodide perovskite@2013|garnet-type Li7La3Zr2O12@2015",
        conditions="at room temperature|under uniaxial tension|after 1000 load cycles|in 3.5 wt% NaCl solution|"
        "under high vacuum|at 77 K|after laser annealing|at a strain rate of 10⁻³ s⁻¹",
        applications="lightweight structural components|next-generation batteries|high-temperature turbines|"
        "flexible electronics|corrosion-resistant coatings|energy harvesting devices",
        lines="temperature [K]; resistivity [µΩ·cm]; growth|strain [%]; stress [MPa]; saturating|"
        "annealing time [h]; hardness [GPa]; decay|cycle number; capacity retention [%]; decay|"
        "applied field [T]; magnetisation [emu/g]; saturating|film thickness [nm]; band gap [eV]; decay",
        scatters="inverse square-root grain size [µm⁻⁰·⁵]; yield strength [MPa]; linear|"
        "predicted formation energy [eV/atom]; computed formation energy [eV/atom]; linear|"
        "density [g/cm³]; Young's modulus [GPa]; clusters",
        bars="yield strength [MPa]; grouped|thermal conductivity [W/m·K]; simple|phase fraction [%]; stacked|"
        "hardness [GPa]; horizontal",
        hists="grain size [µm]; lognormal|particle diameter [nm]; normal|misorientation angle [deg]; bimodal",
        series="as-cast|annealed at 600 °C|annealed at 900 °C|quenched|cold-rolled|as-deposited|Nb-doped|undoped",
        categories="FCC|BCC|HCP|amorphous|L1₂|B2|σ phase|Laves",
        samples="specimens|grains|nanoparticles|thin films",
        spectra="X-ray diffraction pattern; 2θ [deg]; intensity [a.u.]; peaks; (111), (200), (220), (311)|"
        "Raman spectrum; Raman shift [cm⁻¹]; intensity [a.u.]; peaks; D band, G band, 2D band|"
        "XPS spectrum; binding energy [eV]; counts [a.u.]; peaks-rev; Ti 2p, O 1s, C 1s",
        images="scanning electron micrograph; grains; 5 µm|bright-field TEM image; particles; 50 nm|"
        "optical micrograph of the etched surface; grains; 100 µm|AFM topography map; terrain; 1 µm",
        diagrams="alloy processing route; pipeline; powder preparation, arc melting, homogenisation, cold rolling, tensile testing|"
        "thin-film device fabrication route; pipeline; precursor synthesis, spin coating, thermal annealing, device fabrication|"
        "electrode cycling mechanism; cycle; charge, lithium insertion, discharge, lithium extraction",
        heatmaps="composition map; field; Ni fraction; Cr fraction; hardness [GPa]|"
        "strain map; field; y position [nm]; x position [nm]; strain [%]|"
        "correlation matrix of materials descriptors; matrix; descriptor; descriptor; Pearson r",
        cmaps="inferno|viridis|cividis|magma",
    ),
    "genomics": dict(
        kinds="heatmap 4, bar 2, scatter 2.5, diagram 1, histogram 1, micrograph 1, line 0.6, spectrum 0.3",
        growth="0.05", surge="",
        topics="gene regulatory networks|alternative splicing|chromatin accessibility|transcriptional dynamics|"
        "copy-number variation|host–pathogen interactions|microbiome composition|enhancer evolution|"
        "genome-wide association|DNA methylation clocks@2013|genome editing with CRISPR-Cas9@2013|"
        "single-cell transcriptomics@2012|spatial transcriptomics@2017|protein structure prediction with AlphaFold@2021",
        methods="RNA-seq|ChIP-seq|whole-genome sequencing|quantitative PCR|microarray profiling|ATAC-seq@2013|"
        "single-cell RNA-seq@2012|CRISPR-Cas9 screening@2014|nanopore sequencing@2015|"
        "spatial transcriptomics@2017|long-read assembly@2014|differential expression analysis",
        subjects="Arabidopsis thaliana|Saccharomyces cerevisiae|Drosophila melanogaster|mouse embryonic stem cells|"
        "human T cells|Escherichia coli|zebrafish embryos|tumour organoids@2014|maize inbred lines|"
        "human induced pluripotent stem cells|gut microbial communities|Caenorhabditis elegans",
        conditions="under heat stress|after 24 h of hypoxia|in knockout mutants|during embryonic development|"
        "after drug treatment|in wild-type controls|across three biological replicates",
        applications="precision medicine|crop improvement|drug target discovery|understanding development|"
        "cancer diagnostics|synthetic biology",
        lines="time after induction [h]; relative expression; saturating|developmental stage [hpf]; "
        "transcript abundance [TPM]; peak|read depth [×]; variant call sensitivity [%]; saturating",
        scatters="log2 fold change; −log10 p-value; volcano|UMAP 1; UMAP 2; clusters|"
        "expression in replicate 1 [log TPM]; expression in replicate 2 [log TPM]; linear|"
        "PC1; PC2; clusters",
        bars="relative expression (fold change); grouped|number of differentially expressed genes; simple|"
        "fraction of reads [%]; stacked|enrichment score; horizontal",
        hists="gene length [kb]; lognormal|methylation level [%]; bimodal|mapping quality; normal",
        series="wild type|knockout|heterozygous|treated|control|mutant|overexpression",
        categories="SOX2|NANOG|POU5F1|MYC|TP53|GATA4|PAX6|HOXA9|KLF4",
        samples="cells|genes|samples|single cells",
        spectra="MALDI-TOF mass spectrum; m/z; relative abundance [%]; peaks; 1046.5, 1296.7, 2093.1",
        images="confocal fluorescence image; cells; 20 µm|light-sheet image of the embryo; cells; 100 µm|"
        "brightfield image of colonies; particles; 1 mm",
        diagrams="sequencing workflow; pipeline; sample collection, library preparation, sequencing, read alignment, variant calling|"
        "single-cell profiling workflow; pipeline; cell dissociation, droplet encapsulation, barcoding, clustering|"
        "mRNA life cycle; cycle; transcription, splicing, translation, degradation",
        heatmaps="gene expression heat map; clustered; genes; samples; z-score|"
        "chromatin contact map; matrix; genomic bin; genomic bin; contact frequency|"
        "pathway enrichment heat map; clustered; pathways; conditions; −log10 q",
        cmaps="RdBu_r|coolwarm|PiYG|bwr",
    ),
    "climate science": dict(
        kinds="line 4, heatmap 2.5, bar 1, scatter 1, histogram 1, spectrum 0.6, diagram 0.6, micrograph 0.4",
        growth="0.04", surge="",
        topics="Arctic sea-ice decline|ocean heat uptake|monsoon variability|carbon-cycle feedbacks|"
        "extreme precipitation|permafrost thaw|aerosol–cloud interactions|glacier mass balance|"
        "El Niño–Southern Oscillation|marine heatwaves@2016|attribution of extreme events@2012|"
        "CMIP6 climate sensitivity@2019",
        methods="reanalysis|general circulation models|satellite altimetry|ice-core records|Argo floats|"
        "eddy-covariance flux towers|CMIP5 ensembles@2012|CMIP6 ensembles@2019|ERA5 reanalysis@2018|"
        "statistical downscaling|radiative transfer modelling",
        subjects="the Greenland ice sheet|the North Atlantic|the Tibetan Plateau|the Amazon basin|"
        "the Southern Ocean|East African highlands|the Sahel|boreal forests|the tropical Pacific",
        conditions="under RCP8.5|since 1979|for the 1981–2010 baseline|during boreal winter|"
        "in the historical simulations|under 2 °C of warming",
        applications="adaptation planning|water-resource management|sea-level projections|"
        "agricultural risk assessment|carbon budgets",
        lines="year; temperature anomaly [K]; timeseries|year; sea-ice extent [10⁶ km²]; timeseries|"
        "month; precipitation [mm/day]; periodic|year; CO₂ concentration [ppm]; growth|"
        "lead time [months]; forecast skill; decay",
        scatters="sea-surface temperature anomaly [K]; rainfall anomaly [%]; linear|"
        "observed trend [K/decade]; modelled trend [K/decade]; linear|"
        "equilibrium climate sensitivity [K]; cloud feedback [W/m²/K]; clusters",
        bars="radiative forcing [W/m²]; horizontal|annual mean runoff [mm]; grouped|"
        "emissions [Gt CO₂]; stacked|number of heatwave days; simple",
        hists="daily maximum temperature [°C]; normal|precipitation intensity [mm/h]; exponential|"
        "wind speed [m/s]; lognormal",
        series="observations|ensemble mean|RCP4.5|RCP8.5|SSP2-4.5@2019|SSP5-8.5@2019|reanalysis",
        categories="DJF|MAM|JJA|SON|Arctic|tropics|mid-latitudes|Antarctic",
        samples="stations|grid cells|ensemble members|years",
        spectra="power spectrum of the Niño3.4 index; period [years]; spectral power; powerlaw; ENSO band|"
        "wavelet power spectrum; frequency [cycles/yr]; spectral power; powerlaw; annual cycle",
        images="satellite image of sea-ice cover; terrain; 100 km|MODIS true-colour image; terrain; 50 km",
        diagrams="global carbon cycle; cycle; atmosphere, ocean, land biosphere, fossil reservoirs|"
        "temperature homogenisation workflow; pipeline; station data, quality control, homogenisation, gridding, trend analysis",
        heatmaps="map of surface temperature anomalies; field; latitude [°N]; longitude [°E]; temperature anomaly [K]|"
        "Hovmöller diagram; field; time [months]; longitude [°E]; SST anomaly [K]|"
        "correlation matrix of climate indices; matrix; index; index; correlation",
        cmaps="coolwarm|RdYlBu_r|BrBG|Spectral_r",
    ),
    "neuroscience": dict(
        kinds="line 2, micrograph 2, heatmap 2, spectrum 1.2, bar 1.5, scatter 1, histogram 1, diagram 0.6",
        growth="0.04", surge="",
        topics="working memory|place cells|synaptic plasticity|sensory adaptation|decision making|"
        "neural oscillations|motor learning|cortical layers|dopaminergic signalling|sleep spindles|"
        "large-scale neural population recording@2017|connectomics@2012",
        methods="patch-clamp recording|two-photon calcium imaging|optogenetics|functional MRI|"
        "electroencephalography|local field potential recording|Neuropixels probes@2018|GCaMP6 imaging@2014|"
        "diffusion tensor imaging|spike sorting",
        subjects="mouse primary visual cortex|rat hippocampus|macaque prefrontal cortex|human participants|"
        "zebrafish larvae|Drosophila mushroom body|songbird HVC|cultured cortical neurons",
        conditions="during spatial navigation|under anaesthesia|during sleep|after fear conditioning|"
        "in awake behaving animals|during a delayed-response task",
        applications="understanding memory|treating epilepsy|brain–computer interfaces|"
        "models of perception|neuroprosthetics",
        lines="time [ms]; membrane potential [mV]; periodic|time from stimulus onset [s]; ΔF/F [%]; peak|"
        "trial number; accuracy [%]; saturating|position on track [cm]; firing rate [Hz]; peak",
        scatters="orientation preference [deg]; response amplitude [ΔF/F]; clusters|"
        "spike width [ms]; firing rate [Hz]; clusters|stimulus contrast [%]; firing rate [Hz]; linear",
        bars="firing rate [Hz]; grouped|BOLD signal change [%]; simple|proportion of responsive cells [%]; stacked",
        hists="interspike interval [ms]; exponential|reaction time [ms]; lognormal|"
        "orientation selectivity index; normal",
        series="control|muscimol|light on|light off|pre-learning|post-learning|sham",
        categories="V1|V2|LGN|CA1|CA3|PFC|M1|S1|thalamus",
        samples="neurons|trials|participants|recording sessions",
        spectra="power spectral density of the LFP; frequency [Hz]; power [dB]; powerlaw; theta, gamma|"
        "EEG power spectrum; frequency [Hz]; power [µV²/Hz]; powerlaw; alpha peak",
        images="two-photon image of GCaMP-labelled neurons@2014; cells; 50 µm|"
        "confocal image of dendritic spines; fibres; 5 µm|Golgi-stained cortical section; fibres; 100 µm",
        diagrams="imaging analysis pipeline; pipeline; stimulus presentation, calcium imaging, motion correction, ROI extraction, decoding|"
        "hierarchical model of the ventral stream; network; input layer, V1, V2, V4, IT",
        heatmaps="spike raster; raster; neurons; time [s]; firing rate [Hz]|"
        "functional connectivity matrix; matrix; brain region; brain region; correlation|"
        "trial-averaged responses; clustered; neurons; time bins; ΔF/F",
        cmaps="viridis|magma|plasma|Greys",
    ),
    "astrophysics": dict(
        kinds="spectrum 4, scatter 2, line 2, histogram 1, micrograph 1.2, heatmap 0.6, bar 0.4, diagram 0.3",
        growth="0.03", surge="",
        topics="galaxy formation|stellar populations|exoplanet atmospheres|active galactic nuclei|"
        "dark-matter haloes|supernova cosmology|star-forming regions|cosmic reionisation|"
        "gravitational-wave astronomy@2016|high-redshift galaxies with JWST@2022|stellar kinematics with Gaia@2017",
        methods="optical spectroscopy|photometry|N-body simulations|radial-velocity monitoring|"
        "radio interferometry|adaptive optics imaging|Gaia astrometry@2017|TESS photometry@2019|"
        "JWST NIRSpec spectroscopy@2022|LIGO strain analysis@2016|Markov chain Monte Carlo fitting",
        subjects="M dwarf stars|Type Ia supernovae|quasars at z > 6|the Milky Way disc|globular clusters|"
        "hot Jupiters|the Andromeda galaxy|brown dwarfs|galaxy clusters|binary black holes@2016",
        conditions="at z ≈ 2|in the solar neighbourhood|over a 27-day baseline|at 1.4 GHz|in the rest frame",
        applications="constraining cosmological parameters|planet habitability|stellar evolution models|"
        "the cosmic star-formation history",
        lines="time [days]; relative flux; periodic|redshift z; luminosity distance [Mpc]; growth|"
        "radius [kpc]; rotation velocity [km/s]; saturating|time [s]; strain [10⁻²¹]; periodic",
        scatters="colour B − V [mag]; absolute magnitude [mag]; hr|stellar mass [log M⊙]; star-formation rate [M⊙/yr]; linear|"
        "orbital period [days]; planet radius [R⊕]; clusters",
        bars="number of detections; simple|metallicity [Fe/H]; grouped",
        hists="redshift z; lognormal|orbital eccentricity; exponential|stellar mass [log M⊙]; normal",
        series="observed|best-fit model|simulation|thin disc|thick disc|halo",
        categories="O|B|A|F|G|K|M|L|T",
        samples="galaxies|stars|quasars|exoplanets",
        spectra="optical spectrum; wavelength [Å]; flux [10⁻¹⁷ erg/s/cm²/Å]; emission; Hα, Hβ, [O III], [N II]|"
        "transmission spectrum; wavelength [µm]; transit depth [ppm]; absorption; H₂O, CO₂, Na|"
        "radio spectrum; frequency [GHz]; flux density [mJy]; powerlaw; synchrotron",
        images="deep-field image; sky; 10 arcsec|Hα narrow-band image; sky; 1 arcmin",
        diagrams="data-reduction pipeline; pipeline; raw frames, bias subtraction, flat fielding, source extraction, photometric calibration|"
        "stellar life cycle; cycle; molecular cloud, protostar, main sequence, red giant, planetary nebula",
        heatmaps="surface-density map; field; y [kpc]; x [kpc]; log Σ [M⊙/pc²]|"
        "posterior density; field; σ8; Ωm; probability density",
        cmaps="magma|inferno|gist_heat|bone",
    ),
    "chemistry": dict(
        kinds="spectrum 3, bar 2, line 2, diagram 1.5, scatter 1, heatmap 0.6, histogram 0.4, micrograph 0.6",
        growth="0.03", surge="",
        topics="asymmetric catalysis|C–H activation|metal–organic frameworks|reaction kinetics|"
        "supramolecular assembly|electrocatalytic CO₂ reduction|polymer degradation|solvent effects|"
        "photoredox catalysis@2009|single-atom catalysts@2012|covalent organic frameworks@2006",
        methods="NMR spectroscopy|infrared spectroscopy|UV-Vis spectroscopy|cyclic voltammetry|"
        "gas chromatography|mass spectrometry|X-ray crystallography|density functional theory|"
        "stopped-flow kinetics|high-throughput screening|flow chemistry@2010",
        subjects="palladium complexes|zeolite ZSM-5|ruthenium photocatalysts|ionic liquids|"
        "ZIF-8 frameworks|cellulose nanocrystals|aryl halides|copper(I) catalysts|polyethylene terephthalate",
        conditions="at 80 °C in toluene|under argon|at pH 7.4|under blue LED irradiation|at 1 bar CO₂",
        applications="green synthesis|carbon capture|drug manufacturing|plastic recycling|fuel cells",
        lines="time [min]; conversion [%]; saturating|temperature [°C]; yield [%]; peak|"
        "potential [V vs RHE]; current density [mA/cm²]; growth|time [h]; concentration [mM]; decay",
        scatters="Hammett σ; log(k/k₀); linear|computed barrier [kcal/mol]; experimental barrier [kcal/mol]; linear|"
        "pore size [Å]; CO₂ uptake [mmol/g]; clusters",
        bars="yield [%]; simple|enantiomeric excess [%]; grouped|selectivity [%]; stacked|turnover frequency [h⁻¹]; horizontal",
        hists="particle size [nm]; lognormal|retention time [min]; bimodal",
        series="catalyst A|catalyst B|no catalyst|ligand L1|ligand L2|batch|flow",
        categories="MeOH|EtOH|THF|DMF|DMSO|MeCN|toluene|water",
        samples="compounds|reactions|crystals|catalysts",
        spectra="¹H NMR spectrum; chemical shift [ppm]; intensity; peaks-rev; 7.26, 3.71, 1.25|"
        "FTIR spectrum; wavenumber [cm⁻¹]; transmittance [%]; absorption-rev; C=O stretch, O–H stretch, C–H bend|"
        "UV-Vis absorption spectrum; wavelength [nm]; absorbance; peaks; π–π*, n–π*",
        images="SEM image of crystals; particles; 10 µm|TEM image of nanoparticles; particles; 20 nm",
        diagrams="continuous synthesis setup; pipeline; reactant mixing, catalysis, quench, extraction, purification|"
        "proposed catalytic cycle; cycle; oxidative addition, transmetalation, reductive elimination, catalyst regeneration",
        heatmaps="reaction yield screen; clustered; catalyst; solvent; yield [%]|"
        "potential energy surface; field; reaction coordinate 1 [Å]; reaction coordinate 2 [Å]; energy [kcal/mol]",
        cmaps="viridis|YlGnBu|plasma|PuBuGn",
    ),
    "machine learning": dict(
        kinds="line 4, diagram 3, bar 2, heatmap 1.5, scatter 1.2, histogram 0.5, spectrum 0.2, micrograph 0.2",
        growth="0.15", surge="",
        topics="image classification|representation learning|domain adaptation|few-shot learning|"
        "reinforcement learning|model compression|semi-supervised learning|recommender systems|"
        "adversarial robustness@2014|graph representation learning@2018|self-supervised pretraining@2019|"
        "instruction tuning of language models@2022|text-to-image generation@2021",
        methods="support vector machines|random forests|convolutional neural networks|recurrent neural networks|"
        "gradient boosting|k-means clustering|dropout regularisation@2013|generative adversarial networks@2014|"
        "residual networks@2016|the transformer architecture@2018|graph neural networks@2018|"
        "contrastive learning@2019|vision transformers@2020|diffusion models@2021|large language models@2022",
        subjects="ImageNet|CIFAR-10|MNIST|the Penn Treebank|Atari games|COCO@2015|GLUE@2018|"
        "medical images|user–item interaction logs|molecular graphs",
        conditions="with 10% of the labels|under distribution shift|on a single GPU|with data augmentation|"
        "at batch size 256|with early stopping",
        applications="autonomous driving|medical diagnosis|search engines|scientific discovery|robotics",
        lines="epoch; validation loss; decay|training steps [×10³]; top-1 accuracy [%]; saturating|"
        "number of parameters [M]; test error [%]; decay|fraction of labelled data [%]; F1 score; saturating|"
        "episode; average return; growth",
        scatters="t-SNE dimension 1; t-SNE dimension 2; clusters|FLOPs [G]; top-1 accuracy [%]; linear|"
        "inference latency [ms]; accuracy [%]; clusters",
        bars="top-1 accuracy [%]; grouped|F1 score; simple|inference time [ms]; horizontal|BLEU score; grouped",
        hists="prediction confidence; bimodal|gradient norm; lognormal|attention entropy [nats]; normal",
        series="baseline|ours|ours w/o augmentation|SVM|LSTM|ResNet-50@2016|BERT@2019|ViT-B/16@2020|GPT-4@2023",
        categories="SVM|random forest|MLP|CNN|LSTM|ResNet@2016|BERT@2019|ViT@2020",
        samples="images|runs|samples|sentences",
        spectra="singular-value spectrum of the weight matrix; index; singular value; powerlaw; heavy tail",
        images="input image with saliency overlay; sky; 32 px",
        diagrams="convolutional network architecture; network; input, conv 3×3, pooling, conv 3×3, fully connected, softmax|"
        "transformer encoder block; network; token embedding, multi-head attention, feed-forward, layer norm, output head@2018|"
        "learning pipeline; pipeline; data collection, preprocessing, feature extraction, training, evaluation|"
        "autoencoder architecture; network; encoder, latent code, decoder, reconstruction",
        heatmaps="confusion matrix; confusion; true class; predicted class; fraction|"
        "attention weights@2018; clustered; query token; key token; attention|"
        "hyperparameter sweep; field; learning rate (log₁₀); weight decay (log₁₀); validation accuracy [%]",
        cmaps="Blues|viridis|Purples|cividis",
    ),
    "epidemiology": dict(
        kinds="line 3, bar 3, heatmap 1.2, scatter 1, histogram 1.5, diagram 1, spectrum 0.1, micrograph 0.2",
        growth="0.03", surge="2020:3.0",
        topics="vaccine effectiveness|transmission dynamics|antimicrobial resistance|outbreak detection|"
        "social determinants of health|malaria incidence|influenza seasonality|non-communicable disease burden|"
        "Zika virus transmission@2016|SARS-CoV-2 transmission@2020|long COVID@2021|Omicron variant spread@2022",
        methods="cohort studies|case–control studies|SEIR models|Bayesian hierarchical models|"
        "time-series regression|contact tracing|genomic surveillance@2016|wastewater surveillance@2020|"
        "agent-based simulation|meta-analysis",
        subjects="children under five|healthcare workers|older adults|urban populations in South Asia|"
        "sub-Saharan African households|pregnant women|university students|care-home residents",
        conditions="during the 2009 H1N1 pandemic@2009|during the COVID-19 pandemic@2020|after school closures|"
        "in low-income settings|over a five-year follow-up|before and after vaccination",
        applications="public-health policy|vaccine allocation|hospital capacity planning|disease elimination",
        lines="days since first case; daily incidence; peak|week of year; influenza-like illness [%]; periodic|"
        "age [years]; hazard ratio; growth|months since vaccination; effectiveness [%]; decay",
        scatters="vaccination coverage [%]; incidence per 100,000; linear|GDP per capita [USD]; life expectancy [years]; linear|"
        "mobility change [%]; reproduction number R; linear",
        bars="incidence per 100,000; grouped|odds ratio; horizontal|cases; stacked|prevalence [%]; simple",
        hists="incubation period [days]; lognormal|serial interval [days]; normal|age at diagnosis [years]; bimodal",
        series="vaccinated|unvaccinated|intervention|control|urban|rural|Delta variant@2021|Omicron variant@2022",
        categories="0–4 y|5–17 y|18–29 y|30–49 y|50–64 y|65–79 y|80+ y",
        samples="patients|participants|districts|households",
        spectra="periodogram of weekly case counts; frequency [cycles/yr]; spectral power; powerlaw; annual cycle",
        images="blood smear with Plasmodium parasites; cells; 10 µm",
        diagrams="SEIR compartmental model; cycle; susceptible, exposed, infectious, recovered|"
        "outbreak response workflow; pipeline; case notification, laboratory confirmation, contact tracing, isolation|"
        "genomic surveillance workflow; pipeline; sample collection, sequencing, lineage assignment, phylogenetic analysis@2016",
        heatmaps="incidence by age and week; field; age group; week; incidence per 100,000|"
        "contact matrix; matrix; age of contact; age of participant; mean daily contacts",
        cmaps="Reds|YlOrRd|OrRd|viridis",
    ),
}


@dataclass(frozen=True)
class Term:
    """A vocabulary item: its text and the first year it may appear (None: any year)."""

    text: str
    since: int | None = None

    def available(self, year: int) -> bool:
        return self.since is None or year >= self.since


@dataclass(frozen=True)
class FieldVocab:
    """One field's parsed vocabulary. List attributes hold Terms; structured items keep their
    ``;``-separated parts as tuples in ``Term.text`` order (see :func:`parts`)."""

    name: str
    kind_weights: dict[str, float]
    growth: float
    surge: tuple[int, float] | None
    lists: dict[str, tuple[Term, ...]]

    def terms(self, key: str, year: int) -> list[Term]:
        """Terms of list ``key`` available in ``year``."""
        return [t for t in self.lists[key] if t.available(year)]


_DATED = re.compile(r"@(\d{4})$")
_LIST_KEYS = ("topics", "methods", "subjects", "conditions", "applications", "lines", "scatters", "bars",
              "hists", "series", "categories", "samples", "spectra", "images", "diagrams", "heatmaps", "cmaps")


def _parse_list(raw: str) -> tuple[Term, ...]:
    out = []
    for item in raw.split("|"):
        item = item.strip()
        match = _DATED.search(item)
        if match:
            out.append(Term(item[: match.start()].strip(), int(match.group(1))))
        elif item:
            out.append(Term(item))
    return tuple(out)


def parts(term: Term) -> list[str]:
    """The ``;``-separated parts of a structured item, stripped."""
    return [p.strip() for p in term.text.split(";")]


def split_quantity(text: str) -> tuple[str, str]:
    """``"temperature [K]"`` → ``("temperature", "K")``; no brackets → unit ``""``."""
    match = re.fullmatch(r"(.*?)\s*\[(.*)\]\s*", text)
    return (match.group(1), match.group(2)) if match else (text.strip(), "")


def axis_label(text: str) -> str:
    """An axis label in figure style: ``"temperature [K]"`` → ``"Temperature (K)"``."""
    name, unit = split_quantity(text)
    name = name[:1].upper() + name[1:]
    return f"{name} ({unit})" if unit else name


@functools.lru_cache(maxsize=1)
def load_fields() -> dict[str, FieldVocab]:
    """All fields, parsed once: ``{field name: FieldVocab}`` in a fixed order."""
    fields = {}
    for name, raw in _RAW.items():
        weights = {}
        for chunk in raw["kinds"].split(","):
            kind, weight = chunk.split()
            weights[kind] = float(weight)
        surge = None
        if raw["surge"]:
            year, factor = raw["surge"].split(":")
            surge = (int(year), float(factor))
        lists = {key: _parse_list(raw[key]) for key in _LIST_KEYS}
        fields[name] = FieldVocab(name, weights, float(raw["growth"]), surge, lists)
    return fields


def field_names() -> list[str]:
    """The field labels of the demo corpus, in a fixed order."""
    return list(_RAW)


def dated_terms() -> dict[str, int]:
    """Every dated term (its text as written) → the first year it may appear.

    For structured items (spectra, diagrams, heatmaps, images) the term is the item's first part,
    the text that reaches captions. When a term is dated in several places the earliest year wins.
    """
    out: dict[str, int] = {}
    for vocab in load_fields().values():
        for key, terms in vocab.lists.items():
            for term in terms:
                if term.since is None:
                    continue
                text = parts(term)[0] if ";" in term.text else term.text
                out[text] = min(term.since, out.get(text, term.since))
    return out


# ---------------------------------------------------------------------------- phrase templates
# Placeholders are filled by scicmr.demo.corpus; capitalised names ({Topic}, {Y}) start upper-case.
TITLES = (
    "{Topic} in {subject} revealed by {method}",
    "A {method} study of {topic} in {subject}",
    "Towards {application}: {topic} in {subject}",
    "Quantifying {topic} with {method}",
    "{Topic}: insights from {method} and {method2}",
    "Effect of {xname} on {yname} in {subject}",
    "A {adjective} framework for {topic} using {method}",
    "{Subject} {condition}: a {method} perspective on {topic}",
    "Probing {topic} in {subject} {condition}",
    "{Adjective} analysis of {yname} in {subject}",
)
ADJECTIVES = ("unified", "scalable", "data-driven", "multiscale", "high-throughput", "probabilistic",
              "systematic", "comparative", "quantitative", "integrated")
OPENERS = (
    "{Topic} is central to {application}, yet it remains poorly understood in {subject}.",
    "Understanding {topic} in {subject} is essential for {application}.",
    "We investigate {topic} in {subject} {condition}.",
    "Despite decades of work, {topic} in {subject} is still debated.",
)
METHOD_SENTENCES = (
    "Using {method} and {method2}, we characterise {yname} as a function of {xname}.",
    "We combine {method} with {method2} to measure {yname} {condition}.",
    "Our approach relies on {method}, which we validate against {method2}.",
)
RESULT_SENTENCES = (
    "{Yname} {trend} with {xname}, a change of {pct}% relative to {baseline}.",
    "We find that {yname} {trend} as {xname} increases, in contrast to {baseline}.",
    "Compared with {baseline}, {yname} differs by {pct}% across the {samples} studied.",
)
CLOSERS = (
    "These results have implications for {application}.",
    "Our findings open a route towards {application}.",
    "The data set and analysis provide a benchmark for {application}.",
)
TRENDS = ("increases monotonically", "decreases sharply", "saturates", "shows a pronounced maximum",
          "varies non-monotonically", "declines steadily")
OVERLAYS = {
    "timeseries": ("the linear trend", "the 10-year running mean"), "decay": ("an exponential fit",),
    "saturating": ("a first-order kinetic fit", "a Langmuir-type fit"), "peak": ("a Gaussian fit",),
    "periodic": ("the best-fit sinusoidal model",), "growth": ("a power-law fit",),
}
TEXTURE_FEATURES = {
    "grains": "the grain structure", "particles": "dispersed particles", "cells": "labelled cells and nuclei",
    "fibres": "fine filamentous processes", "sky": "point sources and extended emission",
    "terrain": "the surface topography",
}
CAPTIONS = {
    "line": (
        "Line plot of {y} versus {x} for {subject} {condition}.",
        "Curves showing the evolution of {y} with {x}, measured by {method} for {series}.",
        "Line plot of {y} as a function of {x} in {subject}; curves correspond to {series}.",
        "{Y} of {subject} plotted as a line chart against {x}, comparing {series}.",
        "Time course (line plot) of {y} against {x} obtained with {method}.",
    ),
    "bar": (
        "Bar chart of {y} across {cats} for {subject}.",
        "Bar plot comparing {y} between {series} for {cats}.",
        "{Y} for {ncats} groups ({cats}) obtained with {method} {condition}, shown as bars.",
    ),
    "scatter": (
        "Scatter plot of {y} against {x} for {n} {samples} of {subject}.",
        "{Y} versus {x} as a scatter plot of {n} {samples} measured by {method}.",
        "Scatter of {x} against {y}; each point is one of {n} {samples} {condition}.",
    ),
    "heatmap": (
        "Heat map of the {name} for {subject} ({rows} × {cols}); colour encodes {clabel}.",
        "{Name} obtained by {method} {condition}, drawn as a heat map; rows are {rowname} and columns {colname}.",
        "Colour-coded heat map: {name} of {subject}, showing {clabel} across {rowname} and {colname}.",
    ),
    "diagram": (
        "Schematic of the {name}: {steps}.",
        "Diagram of the {name} used in this work, from {first} to {last}.",
        "Flowchart summarising the {name} ({nsteps} stages) applied to {subject}.",
        "Schematic of the {name} used to study {topic}: {steps}.",
    ),
    "histogram": (
        "Histogram of {y} for {n} {samples} of {subject}; the dashed line marks the median.",
        "Histogram showing the distribution of {y} measured by {method} {condition} (n = {n}), centred near {centre}.",
        "Frequency histogram of {y} across {n} {samples}; the dashed line shows the median value.",
    ),
    "spectrum": (
        "{Name} of {subject} {condition}, with labelled features {labels}.",
        "Representative {name} recorded by {method}: {y} versus {x}; features assigned to {labels}.",
        "{Name} of {subject}; peaks near {positions} are assigned to {labels}.",
    ),
    "micrograph": (
        "{Name} of {subject} {condition}; scale bar, {scale}.",
        "Representative {name} showing {feature} in {subject} (scale bar {scale}).",
        "{Name} acquired after {method}, revealing {feature}; scale bar {scale}.",
    ),
}
CAPTION_TAILS = (
    "Data for {subject} {condition}.",
    "Measurements were obtained with {method}.",
    "Values are averaged over {nrep} independent replicates.",
    "See Section {section} for details of the {method2} analysis.",
    "Results are representative of {nrep} experiments.",
    "Inset numbers refer to Table {table}.",
)
CAPTION_EXTRAS = {
    "line": "the dashed line shows {overlay}.",
    "bar": "error bars denote {err}.",
    "scatter_linear": "the dashed line is a least-squares fit (r = {r}).",
    "scatter_clusters": "points are coloured by {series}.",
    "scatter_volcano": "dashed lines mark the fold-change and significance thresholds.",
    "scatter_hr": "the main sequence and the giant branch are clearly separated.",
}
FIRST_NAMES = ("Maria", "Wei", "Aisha", "Lars", "Priya", "Kenji", "Olga", "Tomás", "Fatima", "Jonas", "Mei",
               "Daniel", "Amara", "Hiroshi", "Sofia", "Rahul", "Elena", "Kwame", "Ingrid", "Luca", "Yuki",
               "Omar", "Chloé", "Ivan", "Nadia", "Samuel", "Leila", "Marco", "Hana", "Pedro", "Ahmed", "Anika")
SURNAMES = ("Chen", "García", "Okafor", "Müller", "Sharma", "Tanaka", "Ivanova", "Silva", "Haddad", "Nielsen",
            "Wang", "Kowalski", "Mensah", "Rossi", "Kim", "Novak", "Petrov", "Dubois", "Hassan", "Larsen",
            "Moreau", "Suzuki", "Costa", "Jensen", "Abebe", "Fischer", "Li", "Nakamura", "Patel", "Lopez",
            "Andersson", "Oyelaran", "Schmidt", "Yilmaz", "Zhou", "Bianchi", "Kaur", "Moreno", "Sato", "Weber")
